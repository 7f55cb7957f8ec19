/** The files of a command-line model bundle (libs/federation saveBundle), by name. */

/** Every bundle's four files. */
export const BUNDLE_FILES = ['manifest.json', 'genes.txt', 'weights.bin', 'landmarks.json'] as const;
export type BundleFileKind = (typeof BUNDLE_FILES)[number];

/** The most models an ensemble holds (`scprivacy run --ensemble-size`). */
export const MAX_ENSEMBLE = 16;

/** An ensemble's further models: model k's weights and landmarks, k = 1 .. MAX_ENSEMBLE - 1. */
const MEMBER_FILE = /^(weights|landmarks)-([1-9]|1[0-5])\.(bin|json)$/;

/**
 * What kind of bundle file `name` is (weights-<k>.bin is a weights.bin, landmarks-<k>.json a
 * landmarks.json), or undefined when a bundle has no such file.
 */
export function bundleFileKind(name: string): BundleFileKind | undefined {
  if ((BUNDLE_FILES as readonly string[]).includes(name)) return name as BundleFileKind;
  const m = MEMBER_FILE.exec(name);
  if (m?.[1] === 'weights' && m[3] === 'bin') return 'weights.bin';
  if (m?.[1] === 'landmarks' && m[3] === 'json') return 'landmarks.json';
  return undefined;
}

/** An ensemble member's file (weights-<k>.bin, landmarks-<k>.json). */
export const isMemberFile = (name: string): boolean =>
  bundleFileKind(name) !== undefined && !(BUNDLE_FILES as readonly string[]).includes(name);
