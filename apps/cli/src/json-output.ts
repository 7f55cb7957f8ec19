import { writeFileAtomic } from '@fl/federation';

/**
 * `--json [file]`, the same on every command: bare, the machine-readable summary is printed on
 * stdout (and progress is silenced so stdout parses); with a file, the summary is written there
 * and the command otherwise behaves as without --json. Both forms are common in other tools,
 * and the README has shown `--json metrics.json`.
 */
export type JsonOption = boolean | string;

export const JSON_FLAGS = '--json [file]';

/** Help text: what is printed, then where it can go instead. */
export const jsonHelp = (what: string): string => `print ${what} as JSON on stdout, or write it to <file>`;

/** True when the JSON goes to stdout, which must then carry nothing else. */
export const jsonOnStdout = (option: JsonOption | undefined): boolean => option === true;

/** The file named after --json, if any. */
export const jsonFile = (option: JsonOption | undefined): string | undefined =>
  typeof option === 'string' ? option : undefined;

/** Prints `text` (one JSON document) on stdout or writes it to the --json file. */
export async function emitJson(option: JsonOption | undefined, text: string): Promise<void> {
  const body = text.endsWith('\n') ? text : `${text}\n`;
  const file = jsonFile(option);
  if (file !== undefined) await writeFileAtomic(file, body);
  else if (option === true) process.stdout.write(body);
}
