// The datasets page: each institution's reference datasets as the api summarises them (cells,
// genes, cells per type, checksum), never their values; and the upload form (a member uploads its
// own institution's references; an admin may upload for any institution of the consortium).
import { DATASETS, INSTITUTIONS, graphql, postForm } from './api.js';
import { $, announce, field, h, redraw, showFormErrors, table, time } from './dom.js';
import { formatBytes, shortSha } from './rounds.js';

let ctx = null;
let institutions = [];
let datasets = [];

export const datasetsPage = {
  title: 'datasets',
  async show(context) {
    ctx = context;
    await load();
  },
  hide() {},
};

async function load() {
  try {
    const consortiumId = ctx.session.me.consortiumId;
    const [a, b] = await Promise.all([
      graphql(INSTITUTIONS, { consortiumId }, ctx.api()),
      graphql(DATASETS, {}, ctx.api()),
    ]);
    institutions = a.institutions;
    datasets = b.datasets;
  } catch (error) {
    ctx.handleError(error, 'listing datasets');
    return;
  }
  render();
}

function typeSummary(typeCounts) {
  return Object.entries(typeCounts ?? {})
    .sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
    .map(([type, n]) => `${type} ${n}`)
    .join(' · ');
}

function render() {
  const names = new Map(institutions.map((i) => [i.id, i.name]));
  const sorted = [...datasets].sort(
    (x, y) =>
      (names.get(x.institutionId) ?? '').localeCompare(names.get(y.institutionId) ?? '') ||
      x.createdAt.localeCompare(y.createdAt),
  );
  redraw($('datasets-table'), [sorted, [...names]], () => [
    table({
      caption: 'Reference datasets per institution: summaries only, never the expression values.',
      columns: [
        { label: 'Institution' },
        { label: 'Dataset' },
        { label: 'Stored' },
        { label: 'Cells', num: true },
        { label: 'Genes', num: true },
        { label: 'Cells per type' },
        { label: 'sha256' },
        { label: 'Added' },
      ],
      rows: sorted.map((d) =>
        h(
          'tr',
          {},
          h('td', {}, names.get(d.institutionId) ?? d.institutionId),
          h('th', { scope: 'row' }, d.name, ' ', h('div', { class: 'hint' }, d.fileName)),
          h(
            'td',
            {},
            d.location === 'site'
              ? 'on the site (only its worker reads it)'
              : `uploaded, ${formatBytes(d.sizeBytes)}`,
          ),
          h('td', { class: 'num' }, String(d.cells)),
          h('td', { class: 'num' }, String(d.genes)),
          h('td', {}, typeSummary(d.typeCounts)),
          h('td', {}, h('code', { title: d.sha256 }, shortSha(d.sha256))),
          h('td', {}, time(d.createdAt)),
        ),
      ),
    }),
  ]);
  $('no-datasets').hidden = datasets.length > 0;

  const select = $('upload-institution');
  const usable = institutions.filter((i) => i.status !== 'revoked');
  const chosen = select.value;
  select.replaceChildren(
    ...usable.map((i) => h('option', { value: i.name, selected: i.name === chosen }, i.name)),
  );
  $('upload-form').hidden = usable.length === 0;
}

async function upload(event) {
  event.preventDefault();
  const form = event.target;
  const institution = $('upload-institution').value;
  const file = $('upload-file').files?.[0];
  const errors = [];
  if (!institution) errors.push({ field: 'upload-institution', message: 'Institution: choose one.' });
  if (!file) {
    errors.push({
      field: 'upload-file',
      message:
        'File: choose a reference (.csv, .tsv, .txt, optionally .gz, or .h5ad) with a cell_label column.',
    });
  }
  showFormErrors(form, $('upload-errors'), errors);
  if (errors.length > 0) return;
  const body = new FormData();
  const name = $('upload-name').value.trim();
  if (name) body.append('name', name);
  if ($('upload-singletons').checked) body.append('allowSingletonTypes', 'true');
  body.append('file', file, file.name);
  const button = $('upload-submit');
  button.disabled = true;
  button.textContent = 'Checking and uploading…';
  try {
    const stored = await postForm(
      `/api/v1/institutions/${encodeURIComponent(institution)}/datasets`,
      body,
      ctx.api(),
    );
    announce(`Stored ${stored.name} for ${institution}: ${stored.cells} cells, ${stored.genes} genes.`);
    form.reset();
    await load();
  } catch (error) {
    // The api's message names the file and the line or field at fault; nothing was stored.
    showFormErrors(form, $('upload-errors'), [{ field: 'upload-file', message: error.message }]);
  } finally {
    button.disabled = false;
    button.textContent = 'Upload';
  }
}

function buildForm() {
  const form = $('upload-form');
  form.append(
    h('h3', { id: 'upload-title' }, 'Upload a reference dataset'),
    h('div', { id: 'upload-errors', class: 'alert', role: 'alert', hidden: true }),
    field({ id: 'upload-institution', label: 'Institution', control: h('select', {}) }),
    field({
      id: 'upload-file',
      label: 'Reference file',
      control: h('input', { type: 'file', accept: '.csv,.tsv,.txt,.gz,.h5ad' }),
      hint: 'Cells × genes with a cell_label column; .csv, .tsv, .txt (optionally .gz) or .h5ad. It is checked before anything is stored.',
    }),
    field({
      id: 'upload-name',
      label: 'Dataset name (optional)',
      control: h('input', { type: 'text', autocomplete: 'off', placeholder: 'the file name' }),
    }),
    h(
      'label',
      { class: 'inline' },
      h('input', { type: 'checkbox', id: 'upload-singletons' }),
      ' Accept cell types with a single cell',
    ),
    h('div', { class: 'controls' }, h('button', { type: 'submit', id: 'upload-submit' }, 'Upload')),
  );
  form.addEventListener('submit', upload);
}

buildForm();
$('datasets-reload').addEventListener('click', () => load());
