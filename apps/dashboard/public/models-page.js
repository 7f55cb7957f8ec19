// The models page: every model version the consortium keeps, where it comes from (a
// federation's round, or an import, and the version it was derived from), whether it can be
// exported (only versions with landmarks: a federation's final model or an imported bundle) and
// its download.
import { MODEL_VERSIONS, downloadBundle, graphql } from './api.js';
import { $, announce, h, redraw, saveBlob, table, time } from './dom.js';
import { ensembleNote, versionOrigin } from './forms.js';
import { fileNameFromDisposition, formatBytes, shortSha, versionRetention } from './rounds.js';

let ctx = null;
let versions = [];
let federationNames = new Map();
const downloading = new Set();

export const modelsPage = {
  title: 'models',
  async show(context) {
    ctx = context;
    await load();
  },
  hide() {},
};

async function load() {
  try {
    const data = await graphql(MODEL_VERSIONS, {}, ctx.api());
    versions = [...data.modelVersions].sort(
      (a, b) => b.createdAt.localeCompare(a.createdAt) || b.round - a.round,
    );
    federationNames = new Map(data.federations.map((f) => [f.id, f.name]));
  } catch (error) {
    ctx.handleError(error, 'listing model versions');
    return;
  }
  render();
}

function render() {
  const byId = new Map(versions.map((v) => [v.id, v]));
  const exportable = versions.filter((v) => v.exportable).length;
  $('models-summary').textContent =
    versions.length === 0
      ? ''
      : `${versions.length} version${versions.length === 1 ? '' : 's'} kept, ${exportable} exportable (with landmarks).`;
  redraw($('models-table'), [versions, [...downloading]], () => [
    table({
      caption:
        'Model versions, newest first: origin, what retention keeps them as, and whether they can be exported.',
      columns: [
        { label: 'Model' },
        { label: 'Kept as' },
        { label: 'sha256' },
        { label: 'Backend' },
        { label: 'Size', num: true },
        { label: 'Created' },
        { label: 'Exportable' },
        { label: h('span', { class: 'visually-hidden' }, 'Actions') },
      ],
      rows: versions.map((v) => {
        const parent = v.parentId ? byId.get(v.parentId) : null;
        return h(
          'tr',
          {},
          h(
            'th',
            { scope: 'row' },
            v.federationId
              ? h(
                  'a',
                  { href: `#/federations/${encodeURIComponent(v.federationId)}` },
                  versionOrigin(v, federationNames),
                )
              : versionOrigin(v, federationNames),
            parent ? ' ' : null,
            parent ? h('div', { class: 'hint' }, `from ${versionOrigin(parent, federationNames)}`) : null,
            ensembleNote(v) ? h('div', { class: 'hint' }, ensembleNote(v)) : null,
          ),
          h('td', {}, versionRetention(v)),
          h('td', {}, h('code', { title: v.sha256 }, shortSha(v.sha256))),
          h('td', {}, v.backend),
          h('td', { class: 'num' }, formatBytes(v.sizeBytes)),
          h('td', {}, time(v.createdAt)),
          h('td', {}, v.exportable ? 'yes' : h('span', { class: 'hint' }, 'no (no landmarks)')),
          h(
            'td',
            { class: 'actions' },
            v.exportable
              ? h(
                  'button',
                  {
                    type: 'button',
                    'data-focus': `model-download-${v.id}`,
                    'aria-label': `Download the model bundle ${versionOrigin(v, federationNames)}`,
                    disabled: downloading.has(v.id),
                    onclick: () => download(v),
                  },
                  downloading.has(v.id) ? 'Downloading…' : 'Download',
                )
              : null,
            v.exportable
              ? h(
                  'a',
                  { href: `#/annotations/${encodeURIComponent(v.id)}`, class: 'button' },
                  'Annotate with it',
                )
              : null,
          ),
        );
      }),
    }),
  ]);
  $('no-models').hidden = versions.length > 0;
}

async function download(version) {
  downloading.add(version.id);
  render();
  try {
    const { blob, disposition } = await downloadBundle(version.id, ctx.api());
    saveBlob(blob, fileNameFromDisposition(disposition, `model-${shortSha(version.sha256)}.tar`));
    announce(`Downloaded the model bundle ${versionOrigin(version, federationNames)}.`);
  } catch (error) {
    ctx.handleError(error, `downloading the model bundle ${versionOrigin(version, federationNames)}`);
  } finally {
    downloading.delete(version.id);
    render();
  }
}

$('models-reload').addEventListener('click', () => load());
