/* global document */
// The annotation jobs page: upload a query (cells × genes) to be labelled with an exportable
// model version, follow the job (refreshed every 2 s while one is queued or running), and
// download its result.txt (the published format) or predictions.csv.
import { ANNOTATION_JOBS, MODEL_VERSIONS, downloadFile, graphql, postForm } from './api.js';
import { $, announce, field, h, redraw, saveBlob, showFormErrors, statusBadge, table, time } from './dom.js';
import { autoRejectionNote, jobSeconds, rejectThresholdProblem, versionOrigin } from './forms.js';
import { fileNameFromDisposition, formatSeconds } from './rounds.js';

const POLL_MS = 2000;
const ACTIVE = new Set(['queued', 'running']);
/** What a completed job offers (the api's GET /annotations/<id>/<file>). */
const RESULT_FILES = ['result.txt', 'predictions.csv'];

let ctx = null;
let jobs = [];
let models = [];
let federationNames = new Map();
let timer = null;
let wantedModel = null;

export const annotationsPage = {
  title: 'annotation jobs',
  async show(context, [modelId] = []) {
    ctx = context;
    wantedModel = modelId ?? wantedModel;
    await load();
  },
  hide() {
    stop();
  },
};

function stop() {
  if (timer !== null) clearTimeout(timer);
  timer = null;
}

async function load() {
  stop();
  try {
    const [a, b] = await Promise.all([
      graphql(ANNOTATION_JOBS, {}, ctx.api()),
      graphql(MODEL_VERSIONS, {}, ctx.api()),
    ]);
    const before = new Map(jobs.map((j) => [j.id, j.status]));
    jobs = a.annotationJobs;
    models = b.modelVersions.filter((v) => v.exportable);
    federationNames = new Map(b.federations.map((f) => [f.id, f.name]));
    for (const job of jobs) {
      const was = before.get(job.id);
      if (was && was !== job.status) announce(`Annotation of ${job.inputFileName} is now ${job.status}.`);
    }
  } catch (error) {
    ctx.handleError(error, 'listing annotation jobs');
    return;
  }
  render();
  if (jobs.some((j) => ACTIVE.has(j.status)) && ctx.session.token) {
    timer = setTimeout(() => {
      timer = null;
      if (!document.hidden) load();
    }, POLL_MS);
  }
}

function modelName(id) {
  const version = models.find((v) => v.id === id);
  return version ? versionOrigin(version, federationNames) : id.slice(0, 8);
}

function threshold(job) {
  if (job.autoReject) return 'auto';
  return job.rejectThreshold === null || job.rejectThreshold === undefined
    ? 'none'
    : String(job.rejectThreshold);
}

function resultCell(job) {
  if (job.status === 'failed') return h('span', { class: 'cause' }, job.error ?? 'failed');
  if (job.status !== 'completed') return h('span', { class: 'hint' }, 'when completed');
  const s = job.summary ?? {};
  const unassigned = typeof s.unassigned === 'number' ? `, ${s.unassigned} unassigned` : '';
  const auto = autoRejectionNote(s);
  return h(
    'span',
    {},
    `${s.cells ?? '?'} cells${unassigned}`,
    RESULT_FILES.flatMap((file) => [
      ' ',
      h(
        'button',
        {
          type: 'button',
          'data-focus': `${file}-${job.id}`,
          'aria-label': `Download ${file} of ${job.inputFileName}`,
          onclick: () => download(job, file),
        },
        file,
      ),
    ]),
    auto &&
      h(
        'details',
        { class: 'auto-rejection' },
        h('summary', {}, `auto: ${auto.heading}`),
        auto.thresholds.length > 0 &&
          h('p', {}, `Unassigned below, per predicted type: ${auto.thresholds.join(', ')}`),
      ),
  );
}

function render() {
  redraw($('annotations-table'), [jobs, models.map((m) => m.id)], () => [
    table({
      caption: 'Annotation jobs, newest first: status, timings and results.',
      columns: [
        { label: 'Query file' },
        { label: 'Status' },
        { label: 'Model' },
        { label: 'Reject threshold' },
        { label: 'Submitted' },
        { label: 'Seconds', num: true },
        { label: 'Result' },
      ],
      rows: jobs.map((job) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, job.inputFileName),
          h('td', {}, statusBadge(job.status)),
          h('td', {}, modelName(job.modelVersionId)),
          h('td', {}, threshold(job)),
          h('td', {}, time(job.createdAt)),
          h('td', { class: 'num' }, formatSeconds(jobSeconds(job))),
          h('td', {}, resultCell(job)),
        ),
      ),
    }),
  ]);
  $('no-jobs').hidden = jobs.length > 0;

  const select = $('job-model');
  const chosen = select.value || wantedModel;
  select.replaceChildren(
    ...models.map((v) =>
      h('option', { value: v.id, selected: v.id === chosen }, versionOrigin(v, federationNames)),
    ),
  );
  $('job-form').hidden = false;
  $('job-no-models').hidden = models.length > 0;
  $('job-submit').disabled = models.length === 0;
}

async function submit(event) {
  event.preventDefault();
  const form = event.target;
  const file = $('job-file').files?.[0];
  const modelVersionId = $('job-model').value;
  const rejectThreshold = $('job-threshold').value.trim();
  const errors = [];
  if (!modelVersionId)
    errors.push({ field: 'job-model', message: 'Model: choose an exportable model version.' });
  if (!file) {
    errors.push({
      field: 'job-file',
      message: 'Query file: choose one (cells × genes; .csv, .tsv, .txt, optionally .gz, or .h5ad).',
    });
  }
  const problem = rejectThresholdProblem(rejectThreshold);
  if (problem) errors.push(problem);
  showFormErrors(form, $('job-errors'), errors);
  if (errors.length > 0) return;
  const body = new FormData();
  body.append('modelVersionId', modelVersionId);
  if (rejectThreshold) body.append('rejectThreshold', rejectThreshold);
  body.append('file', file, file.name);
  const button = $('job-submit');
  button.disabled = true;
  button.textContent = 'Uploading…';
  try {
    await postForm('/api/v1/annotations', body, ctx.api());
    announce(`Annotation of ${file.name} queued.`);
    form.reset();
    await load();
  } catch (error) {
    showFormErrors(form, $('job-errors'), [{ field: 'job-file', message: error.message }]);
  } finally {
    button.disabled = models.length === 0;
    button.textContent = 'Annotate';
  }
}

async function download(job, file) {
  try {
    const { blob, disposition } = await downloadFile(
      `/api/v1/annotations/${encodeURIComponent(job.id)}/${file}`,
      ctx.api(),
    );
    const stem = job.inputFileName.replace(/\.(csv|tsv|txt|h5ad)(\.gz)?$/i, '');
    saveBlob(blob, fileNameFromDisposition(disposition, `${stem}-${file}`));
    announce(`Downloaded ${file} of ${job.inputFileName}.`);
  } catch (error) {
    ctx.handleError(error, `downloading ${file} of ${job.inputFileName}`);
  }
}

function buildForm() {
  const form = $('job-form');
  form.append(
    h('h3', { id: 'job-title' }, 'Annotate a query'),
    h('div', { id: 'job-errors', class: 'alert', role: 'alert', hidden: true }),
    h(
      'p',
      { id: 'job-no-models', class: 'hint', hidden: true },
      'No exportable model yet: a federation must finish first.',
    ),
    field({ id: 'job-model', label: 'Model version', control: h('select', {}) }),
    field({
      id: 'job-file',
      label: 'Query file',
      control: h('input', { type: 'file', accept: '.csv,.tsv,.txt,.gz,.h5ad' }),
      hint: 'Cells × genes (a cell_label column, if any, is ignored); .csv, .tsv, .txt (optionally .gz) or .h5ad.',
    }),
    field({
      id: 'job-threshold',
      label: 'Reject threshold (optional)',
      control: h('input', { type: 'text', autocomplete: 'off', placeholder: 'none' }),
      hint: 'Cells whose best correlation is below it are "unassigned": a number from -1 to 1, or "auto" (a threshold per predicted type, chosen from the query).',
    }),
    h('div', { class: 'controls' }, h('button', { type: 'submit', id: 'job-submit' }, 'Annotate')),
  );
  form.addEventListener('submit', submit);
}

buildForm();
$('annotations-reload').addEventListener('click', () => load());
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && timer === null && ctx?.session.token && jobs.some((j) => ACTIVE.has(j.status)))
    load();
});
