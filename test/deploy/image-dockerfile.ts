/**
 * Just enough of a Dockerfile reader for the image-build test: the build stage's commands and the
 * runtime stage's `COPY --from=<build> /app/<src> <dst>` lines, environment, user and command. An
 * instruction it does not understand in those two stages fails the test with its line number, so
 * a Dockerfile change cannot slip past the replay unread.
 */

export interface Instruction {
  keyword: string;
  args: string;
  /** 1-based line of the instruction's first line. */
  line: number;
}

export interface Stage {
  name: string | undefined;
  base: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  file: string;
  /** The global ARGs (before the first FROM) with their defaults. */
  args: Record<string, string>;
  stages: Stage[];
}

export function parseDockerfile(text: string, file: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending: Instruction | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    // Comment lines end nothing: inside a continuation they are dropped, as Docker does.
    if (trimmed.startsWith('#') || (trimmed === '' && pending)) return;
    if (trimmed === '') return;
    const continues = trimmed.endsWith('\\');
    const body = continues ? trimmed.slice(0, -1).trimEnd() : trimmed;
    if (pending) {
      pending.args += ` ${body.trim()}`;
    } else {
      const [keyword, ...rest] = body.split(/\s+/);
      pending = { keyword: keyword.toUpperCase(), args: rest.join(' '), line: index + 1 };
    }
    if (!continues) {
      pending.args = pending.args.trim();
      instructions.push(pending);
      pending = undefined;
    }
  });
  if (pending) throw new Error(`${file}:${pending.line}: the file ends inside a continued line`);

  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [base, as, name] = instruction.args.split(/\s+/);
      stages.push({
        base,
        name: as?.toUpperCase() === 'AS' ? name.toLowerCase() : undefined,
        instructions: [],
      });
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(instruction);
    } else if (instruction.keyword === 'ARG') {
      Object.assign(args, parseAssignments(instruction.args));
    }
  }
  return { file, args, stages };
}

/** `A=1 B="two"` (ENV and ARG), also the old `ENV A 1` form; an ARG without a default is ''. */
function parseAssignments(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!/^\S+=/.test(text) && /\s/.test(text)) {
    const [key, ...value] = text.split(/\s+/);
    out[key] = value.join(' ');
    return out;
  }
  for (const token of text.match(/\S+?=(?:"[^"]*"|\S*)|\S+/g) ?? []) {
    const eq = token.indexOf('=');
    const key = eq < 0 ? token : token.slice(0, eq);
    const value = eq < 0 ? '' : token.slice(eq + 1).replace(/^"(.*)"$/, '$1');
    out[key] = value;
  }
  return out;
}

function fail(dockerfile: Dockerfile, instruction: Instruction, why: string): never {
  throw new Error(
    `${dockerfile.file}:${instruction.line}: ${instruction.keyword} ${instruction.args}\n` +
      `  ${why} (test/deploy/image-dockerfile.ts reads only what the image-build test replays; extend it)`,
  );
}

/** `--flag=value ... rest`: the flags and what follows them. */
function splitFlags(args: string): { flags: Record<string, string>; rest: string[] } {
  const tokens = args.split(/\s+/);
  const flags: Record<string, string> = {};
  while (tokens[0]?.startsWith('--')) {
    const [name, value = ''] = tokens.shift()!.slice(2).split(/=(.*)/s);
    flags[name] = value;
  }
  return { flags, rest: tokens };
}

export interface RuntimeCopy {
  /** Paths in the build stage, relative to its WORKDIR. */
  sources: string[];
  /** Path in the runtime stage, relative to its WORKDIR ('' is the WORKDIR itself). */
  dest: string;
  /** Docker's rule: a destination ending in `/` (or several sources) is a directory. */
  destIsDirectory: boolean;
}

export interface RuntimeStage {
  /** The stage the runtime copies from. */
  from: string;
  copies: RuntimeCopy[];
  env: Record<string, string>;
  /** Numeric `USER uid:gid`, if the stage sets one. */
  user: { uid: number; gid: number } | undefined;
  cmd: string[];
}

const APP = '/app';

function relativeToApp(dockerfile: Dockerfile, instruction: Instruction, path: string): string {
  if (path === APP || path === `${APP}/`) return '';
  if (path.startsWith(`${APP}/`)) return path.slice(APP.length + 1).replace(/\/$/, '');
  if (!path.startsWith('/')) return path.replace(/^\.\/?/, '').replace(/\/$/, '');
  return fail(dockerfile, instruction, `a path outside ${APP}`);
}

/** The last stage: what it copies from the build stage, its ENV, USER and CMD. */
export function runtimeStage(dockerfile: Dockerfile): RuntimeStage {
  const stage = dockerfile.stages[dockerfile.stages.length - 1];
  const copies: RuntimeCopy[] = [];
  const env: Record<string, string> = {};
  const froms = new Set<string>();
  let user: RuntimeStage['user'];
  let cmd: string[] = [];
  for (const instruction of stage.instructions) {
    const { keyword, args } = instruction;
    if (keyword === 'WORKDIR') {
      if (args !== APP) fail(dockerfile, instruction, `a WORKDIR other than ${APP}`);
    } else if (keyword === 'COPY') {
      const { flags, rest } = splitFlags(args);
      if (!flags.from || rest.length < 2 || rest.some((t) => /[*?[]/.test(t))) {
        fail(dockerfile, instruction, 'only `COPY --from=<stage> /app/<src>... <dst>` is understood');
      }
      froms.add(flags.from);
      const dest = rest[rest.length - 1];
      copies.push({
        sources: rest.slice(0, -1).map((s) => relativeToApp(dockerfile, instruction, s)),
        dest: relativeToApp(dockerfile, instruction, dest),
        destIsDirectory: dest.endsWith('/') || rest.length > 2,
      });
    } else if (keyword === 'ENV') {
      Object.assign(env, parseAssignments(args));
    } else if (keyword === 'USER') {
      const match = /^(\d+)(?::(\d+))?$/.exec(args);
      user = match ? { uid: Number(match[1]), gid: Number(match[2] ?? match[1]) } : undefined;
    } else if (keyword === 'CMD') {
      cmd = JSON.parse(args) as string[];
    } else if (!['RUN', 'EXPOSE', 'ENTRYPOINT', 'ARG', 'LABEL', 'HEALTHCHECK'].includes(keyword)) {
      // RUN here installs system packages and the user (not the application): not replayed.
      fail(dockerfile, instruction, 'not understood in the runtime stage');
    }
  }
  if (froms.size !== 1) {
    throw new Error(
      `${dockerfile.file}: the runtime stage should copy from one build stage, not [${[...froms]}]`,
    );
  }
  return { from: [...froms][0], copies, env, user, cmd };
}

export interface BuildStage {
  /** RUN commands before `COPY . .`: they prepare the image (global npm), not the application. */
  setup: string[];
  /** RUN commands after `COPY . .`, run in the context: the build itself. */
  commands: string[];
  /** The global ARGs' defaults and the stage's ARG and ENV values (Docker exports both to RUN). */
  env: Record<string, string>;
}

/** The named stage's RUN commands around its one `COPY . .` (into WORKDIR /app). */
export function buildStage(dockerfile: Dockerfile, name: string): BuildStage {
  const stage = dockerfile.stages.find((s) => s.name === name);
  if (!stage) throw new Error(`${dockerfile.file}: no stage named ${name}`);
  const result: BuildStage = { setup: [], commands: [], env: { ...dockerfile.args } };
  let copied = false;
  let workdir: string | undefined;
  for (const instruction of stage.instructions) {
    const { keyword, args } = instruction;
    if (keyword === 'WORKDIR') {
      if (args !== APP) fail(dockerfile, instruction, `a WORKDIR other than ${APP}`);
      workdir = args;
    } else if (keyword === 'COPY') {
      if (args !== '. .' || copied || workdir !== APP) {
        fail(dockerfile, instruction, `only one \`COPY . .\` into WORKDIR ${APP} is understood`);
      }
      copied = true;
    } else if (keyword === 'RUN') {
      // --mount=type=cache,target=/root/.npm: here the user's own npm cache plays that part.
      const command = args.replace(/^(?:--\S+\s+)*/, '');
      (copied ? result.commands : result.setup).push(command);
    } else if (keyword === 'ARG') {
      for (const [key, value] of Object.entries(parseAssignments(args))) {
        result.env[key] = value || (dockerfile.args[key] ?? '');
      }
    } else if (keyword === 'ENV') {
      Object.assign(result.env, parseAssignments(args));
    } else {
      fail(dockerfile, instruction, 'not understood in the build stage');
    }
  }
  if (!copied) throw new Error(`${dockerfile.file}: stage ${name} never copies the context (COPY . .)`);
  return result;
}
