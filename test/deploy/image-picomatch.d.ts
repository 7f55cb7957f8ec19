// picomatch ships no types; only the call the dockerignore matcher makes is declared.
// (picomatch is installed through vitest and @nestjs/graphql's tinyglobby.)
declare module 'picomatch' {
  interface PicomatchOptions {
    dot?: boolean;
    nobrace?: boolean;
    noextglob?: boolean;
    nonegate?: boolean;
    strictSlashes?: boolean;
  }
  function picomatch(glob: string, options?: PicomatchOptions): (path: string) => boolean;
  export default picomatch;
}
