/**
 * The chart under test, rendered by real Helm (test/helm/helm-binary.ts): `helm template` and
 * `helm lint` over values files and inline values, the manifests parsed as Kubernetes parses
 * them (YAML 1.1), and NOTES.txt rendered by Helm too.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { type HelmResult, runHelm } from './helm-binary';

export const CHART_DIR = fileURLToPath(new URL('../../helm/scprivacy', import.meta.url));
export const CI_DIR = join(CHART_DIR, 'ci');
export const RELEASE = 'pbmc';
export const NAMESPACE = 'scprivacy';
export const FULLNAME = `${RELEASE}-scprivacy`;

export type Dict = Record<string, unknown>;
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Dict;
  [key: string]: unknown;
}

/** Kubernetes reads YAML 1.1 (`yes`/`no` are booleans there): parse the same way. */
export function readYaml(file: string): unknown {
  return parse(readFileSync(file, 'utf8'), { version: '1.1' });
}

/** The chart-testing values files (ci/*-values.yaml), by file name. */
export function ciValuesFiles(): string[] {
  return readdirSync(CI_DIR)
    .filter((f) => f.endsWith('-values.yaml'))
    .sort();
}

export interface RenderOptions {
  /** Values files under ci/ (file names), applied in order. */
  ciValues?: string[];
  /** Inline values applied after the files (written to a temporary JSON values file). */
  values?: Dict;
  /** `--kube-version`; Helm's default otherwise. */
  kubeVersion?: string;
}

let scratch: string | undefined;
function scratchDir(): string {
  if (!scratch) {
    const dir = mkdtempSync(join(tmpdir(), 'scprivacy-chart-test-'));
    scratch = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return scratch;
}

let valuesFileCount = 0;
function valuesArgs(options: RenderOptions): string[] {
  const args = (options.ciValues ?? []).flatMap((f) => ['--values', join(CI_DIR, f)]);
  if (options.values) {
    const file = join(scratchDir(), `values-${++valuesFileCount}.json`);
    writeFileSync(file, JSON.stringify(options.values));
    args.push('--values', file);
  }
  if (options.kubeVersion) args.push('--kube-version', options.kubeVersion);
  return args;
}

/** `helm template` of `chartDir`; the raw result (a failed render is not thrown). */
export function helmTemplate(options: RenderOptions, chartDir = CHART_DIR, extra: string[] = []): Promise<HelmResult> {
  return runHelm(['template', RELEASE, chartDir, '--namespace', NAMESPACE, ...valuesArgs(options), ...extra]);
}

/** `helm lint --strict`; the raw result. */
export function helmLint(options: RenderOptions): Promise<HelmResult> {
  return runHelm(['lint', '--strict', CHART_DIR, '--namespace', NAMESPACE, ...valuesArgs(options)]);
}

function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text, { version: '1.1' })) {
    if (doc.errors.length) throw new Error(`helm template gave invalid YAML: ${doc.errors[0].message}`);
    const obj = doc.toJS() as K8sObject | null;
    if (obj !== null) objects.push(obj);
  }
  return objects;
}

/** The manifests `helm template` renders; throws Helm's message when the render fails. */
export async function renderChart(options: RenderOptions): Promise<K8sObject[]> {
  const result = await helmTemplate(options);
  if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr.trim()}`);
  return parseManifests(result.stdout);
}

/**
 * A copy of the chart whose NOTES.txt is also a manifest: `helm template` does not print
 * NOTES.txt (only `helm install` does, and that needs a cluster). The copy moves its text, as is,
 * into a named template that a one-field document prints as a JSON string.
 */
const NOTES_TEMPLATE = 'templates/notes-under-test.yaml';
let notesChart: string | undefined;
function notesChartDir(): string {
  if (!notesChart) {
    const dir = join(scratchDir(), 'notes-chart');
    cpSync(CHART_DIR, dir, { recursive: true });
    const notes = readFileSync(join(dir, 'templates', 'NOTES.txt'), 'utf8');
    writeFileSync(
      join(dir, 'templates', '_notes-under-test.tpl'),
      `{{- define "scprivacy.notesUnderTest" -}}\n${notes}{{- end }}\n`,
    );
    rmSync(join(dir, 'templates', 'NOTES.txt'));
    writeFileSync(join(dir, NOTES_TEMPLATE), 'notes: {{ include "scprivacy.notesUnderTest" . | toJson }}\n');
    notesChart = dir;
  }
  return notesChart;
}

/** NOTES.txt as Helm renders it for these values; throws Helm's message when the render fails. */
export async function renderNotes(options: RenderOptions): Promise<string> {
  const result = await helmTemplate(options, notesChartDir(), ['--show-only', NOTES_TEMPLATE]);
  if (result.status !== 0) throw new Error(`helm template (NOTES.txt) failed: ${result.stderr.trim()}`);
  const [doc] = parseManifests(result.stdout) as unknown as { notes: string }[];
  return doc.notes;
}

/** The one object of `kind` named `name`; throws listing what was rendered. */
export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const obj = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!obj) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return obj;
}
