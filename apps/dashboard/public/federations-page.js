/* global document, window, history, confirm */
// The federations page: the consortium's federations, the start form (admins), and the selected
// one's rounds (table and loss chart) and model versions, refreshed every 2 s while it runs.
import { CANCEL, FEDERATIONS, PIN, RESUME, downloadBundle, graphql, loadFederation } from './api.js';
import { $, announce, h, redraw, saveBlob, showAlert, statusBadge, time } from './dom.js';
import { federationForm } from './federation-form.js';
import {
  LOSS_DATA,
  allowedActions,
  fileNameFromDisposition,
  formatAggregation,
  formatBytes,
  formatLoss,
  formatProgress,
  formatSeconds,
  institutionsOf,
  isActive,
  lossChartSpec,
  lossChartValues,
  meanLoss,
  mergeRounds,
  refetchOffset,
  roundSeconds,
  shortSha,
  versionRetention,
} from './rounds.js';

const POLL_MS = 2000;
/** After cancel / resume, keep polling this long even if the status has not changed yet. */
const AFTER_ACTION_MS = 30_000;
/** The rounds table shows the newest rounds; the chart always shows all of them. */
const TABLE_ROUNDS = 200;
const VERSIONS_FIRST = 20;
const VERSIONS_ALL = 1000;

/** The console's context (session, api options, error handling, navigation), set by show(). */
let ctx = null;

const state = {
  federations: [],
  selectedId: null,
  rounds: [],
  versionsLimit: VERSIONS_FIRST,
  timer: null,
  pollUntil: 0,
  /** One refresh at a time: a request for another while one runs is remembered, not run in parallel. */
  refreshing: false,
  refreshAgain: false,
  loadFailed: false,
  /** Model versions last shown, those whose bundle is downloading, and those being (un)pinned. */
  versions: [],
  downloading: new Set(),
  pinning: new Set(),
  /** Bumped on every selection, so a late answer for another federation is dropped. */
  generation: 0,
  chart: { view: null, key: '' },
};

function api() {
  return ctx.api();
}

function handleError(error, doing) {
  ctx.handleError(error, doing);
}

/**
 * Institutions whose per-round values this viewer may see: all of them for an admin (or when the
 * consortium lets members see them), else the member's own; the api filters the same way.
 */
function visibleInstitutions(federation) {
  const all = institutionsOf(federation, state.rounds);
  const { me, consortium } = ctx.session;
  if (me?.kind !== 'member' || consortium?.membersSeeInstitutionRounds) return all;
  return all.filter((name) => name === me.institutionName);
}

/** The round's mean over all institutions (the api's aggregate), else the mean of what is visible. */
function roundMean(round) {
  return typeof round.meanLoss === 'number' ? round.meanLoss : meanLoss(round.losses);
}

export const federationsPage = {
  title: 'federations',
  async show(context, [id] = []) {
    ctx = context;
    $('start-open').hidden = !ctx.isAdmin();
    await loadFederations();
    if (id && id !== state.selectedId) {
      if (state.federations.some((f) => f.id === id)) await select(id);
      else showAlert(`Federation ${id} was not found in this consortium.`);
    } else if (!id && state.selectedId) {
      unselect();
    }
  },
  hide() {
    stopPolling();
    federationForm.close();
  },
};

function unselect() {
  stopPolling();
  state.generation += 1;
  state.selectedId = null;
  destroyChart();
  $('federation').hidden = true;
  renderFederations();
}

// ---- federations list --------------------------------------------------------------------------

async function loadFederations() {
  try {
    state.federations = (await graphql(FEDERATIONS, {}, api())).federations;
  } catch (error) {
    handleError(error, 'listing federations');
    return;
  }
  renderFederations();
}

function renderFederations() {
  redraw($('federation-rows'), [state.selectedId, state.federations], federationRows);
  $('no-federations').hidden = state.federations.length > 0;
}

function federationRows() {
  return state.federations.map((f) => {
    const selected = f.id === state.selectedId;
    const institutions = institutionsOf(f);
    return h(
      'tr',
      { class: selected ? 'selected' : null },
      h(
        'th',
        { scope: 'row' },
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            'aria-current': selected ? 'true' : null,
            'data-focus': `open-${f.id}`,
            onclick: () => select(f.id),
          },
          f.name,
        ),
      ),
      h('td', {}, statusBadge(f.status)),
      h('td', {}, formatProgress(f)),
      h('td', {}, time(f.startedAt)),
      h('td', {}, `${institutions.length}: ${institutions.join(', ')}`),
    );
  });
}

// ---- one federation ----------------------------------------------------------------------------

async function select(id) {
  stopPolling();
  state.generation += 1;
  state.selectedId = id;
  state.rounds = [];
  state.versionsLimit = VERSIONS_FIRST;
  destroyChart();
  history.replaceState(null, '', `#/federations/${encodeURIComponent(id)}`);
  renderFederations();
  $('federation').hidden = false;
  await refresh();
  $('federation-title').focus();
}

/** Loads the selected federation, one load at a time. */
async function refresh() {
  if (state.refreshing) {
    state.refreshAgain = true;
    return;
  }
  state.refreshing = true;
  try {
    await load();
  } finally {
    state.refreshing = false;
  }
  if (state.refreshAgain) {
    state.refreshAgain = false;
    await refresh();
  }
}

/** Loads the selected federation (rounds incrementally), draws it and schedules the next poll. */
async function load() {
  const id = state.selectedId;
  if (!id || !ctx.session.token) return;
  const generation = state.generation;
  stopPolling();
  let result;
  try {
    const offset = refetchOffset(state.rounds);
    result = await loadFederation(id, { offset, versions: state.versionsLimit }, api());
    if (generation !== state.generation) return;
    state.rounds = mergeRounds(state.rounds, result.rounds, offset);
  } catch (error) {
    if (generation !== state.generation) return;
    handleError(error, 'loading the federation');
    state.loadFailed = true;
    if (ctx.session.token && isActive(state.federations.find((f) => f.id === id)?.status)) schedule();
    return;
  }
  const { federation, modelVersions } = result;
  const before = state.federations.find((f) => f.id === id)?.status;
  state.federations = state.federations.map((f) => (f.id === id ? federation : f));
  renderFederations();
  renderFederation(federation);
  renderRounds(federation);
  renderChart(federation);
  renderVersions(modelVersions);
  // A load that works again clears its own error, not others (a failed download stays readable).
  if (state.loadFailed) showAlert('');
  state.loadFailed = false;
  if (before && before !== federation.status)
    announce(`Federation "${federation.name}" is now ${federation.status}.`);
  const polling = isActive(federation.status) || Date.now() < state.pollUntil;
  $('federation-updated').textContent = polling
    ? `Updated ${new Date().toLocaleTimeString()}; refreshing every ${POLL_MS / 1000} s.`
    : `Updated ${new Date().toLocaleTimeString()}.`;
  if (polling) schedule();
}

function schedule() {
  stopPolling();
  state.timer = setTimeout(() => {
    state.timer = null;
    // A hidden tab does not poll; it refreshes when shown again (visibilitychange below).
    if (!document.hidden) refresh();
  }, POLL_MS);
}

function stopPolling() {
  if (state.timer !== null) clearTimeout(state.timer);
  state.timer = null;
}

function renderFederation(f) {
  $('federation-title').textContent = f.name;
  $('federation-title').setAttribute('tabindex', '-1');
  const institutions = institutionsOf(f, state.rounds);
  $('federation-summary').replaceChildren(
    statusBadge(f.status),
    ` ${formatProgress(f)} · ${institutions.length} institution${institutions.length === 1 ? '' : 's'} · ` +
      `${[formatAggregation(f), 'created '].filter(Boolean).join(' · ')}`,
    time(f.createdAt),
    ' · started ',
    time(f.startedAt),
    ' · finished ',
    time(f.finishedAt),
  );
  const error = $('federation-error');
  error.textContent = f.error ? `Error: ${f.error}` : '';
  error.hidden = !f.error;

  const actions = allowedActions(f.status, ctx.session.me?.kind);
  $('controls').hidden = ctx.session.me?.kind !== 'admin';
  $('cancel').disabled = !actions.cancel;
  $('resume').disabled = !actions.resume;
}

function renderRounds(federation) {
  const institutions = visibleInstitutions(federation);
  redraw($('rounds-head'), institutions, () => [
    h('th', { scope: 'col' }, 'Round'),
    h('th', { scope: 'col' }, 'Status'),
    h('th', { scope: 'col' }, 'Survivors / dropouts'),
    h('th', { scope: 'col', class: 'num' }, 'Mean loss'),
    ...institutions.map((name) => h('th', { scope: 'col', class: 'num' }, h('span', {}, `Loss ${name}`))),
    h('th', { scope: 'col', class: 'num' }, 'Seconds'),
    h('th', { scope: 'col' }, 'Cause (failed rounds)'),
  ]);
  const newest = state.rounds.slice(-TABLE_ROUNDS).reverse();
  redraw($('round-rows'), [institutions, newest], () =>
    newest.map((r) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row', class: 'num' }, String(r.number)),
        h('td', {}, statusBadge(r.status)),
        h(
          'td',
          {},
          `${r.survivors.length} / ${r.dropouts.length}`,
          r.dropouts.length > 0 ? h('span', { class: 'hint' }, ` (dropped: ${r.dropouts.join(', ')})`) : null,
        ),
        h('td', { class: 'num' }, formatLoss(roundMean(r))),
        ...institutions.map((name) => h('td', { class: 'num' }, formatLoss(r.losses?.[name]))),
        h('td', { class: 'num' }, formatSeconds(roundSeconds(r))),
        h('td', { class: r.error ? 'cause' : 'hint' }, r.error ?? ''),
      ),
    ),
  );
  $('no-rounds').hidden = state.rounds.length > 0;
  const note = $('rounds-note');
  note.hidden = state.rounds.length <= TABLE_ROUNDS;
  note.textContent = `Newest ${TABLE_ROUNDS} of ${state.rounds.length} rounds; the chart shows all of them.`;
}

function renderVersions(versions) {
  state.versions = versions;
  const admin = ctx.session.me?.kind === 'admin';
  redraw($('version-rows'), [versions, [...state.downloading], [...state.pinning], admin], () =>
    versions.map((v) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row', class: 'num' }, String(v.round)),
        h('td', {}, h('code', { title: v.sha256 }, shortSha(v.sha256))),
        h('td', {}, v.backend),
        h('td', { class: 'num' }, formatBytes(v.sizeBytes)),
        h('td', {}, time(v.createdAt)),
        h('td', {}, versionRetention(v)),
        h(
          'td',
          { class: 'actions' },
          downloadButton(v),
          admin && v.kind !== 'imported' ? pinButton(v) : null,
        ),
      ),
    ),
  );
  $('no-versions').hidden = versions.length > 0;
  $('more-versions').hidden = versions.length < state.versionsLimit || state.versionsLimit >= VERSIONS_ALL;
}

/**
 * Download is offered only for versions that can be exported (they have landmarks: a finished
 * federation's final model, or an imported one); the api answers 409 for the others.
 */
function downloadButton(v) {
  if (!v.exportable) return null;
  return h(
    'button',
    {
      type: 'button',
      'aria-label': `Download the model bundle of round ${v.round}`,
      'data-focus': `download-${v.id}`,
      disabled: state.downloading.has(v.id),
      onclick: () => download(v),
    },
    state.downloading.has(v.id) ? 'Downloading…' : 'Download',
  );
}

/** Admins pin a version so that retention never deletes it, or unpin it. */
function pinButton(v) {
  return h(
    'button',
    {
      type: 'button',
      'aria-pressed': v.pinned ? 'true' : 'false',
      'aria-label': `${v.pinned ? 'Unpin' : 'Pin'} the model version of round ${v.round}`,
      'data-focus': `pin-${v.id}`,
      disabled: state.pinning.has(v.id),
      onclick: () => pin(v),
    },
    v.pinned ? 'Unpin' : 'Pin',
  );
}

async function pin(version) {
  state.pinning.add(version.id);
  renderVersions(state.versions);
  const pinned = !version.pinned;
  try {
    await graphql(PIN, { id: version.id, pinned }, api());
    announce(`${pinned ? 'Pinned' : 'Unpinned'} the model version of round ${version.round}.`);
  } catch (error) {
    handleError(error, `${pinned ? 'pinning' : 'unpinning'} the model version of round ${version.round}`);
  } finally {
    state.pinning.delete(version.id);
  }
  await refresh();
}

/** Fetches the bundle with the bearer header and saves it through a temporary Blob URL. */
async function download(version) {
  state.downloading.add(version.id);
  renderVersions(state.versions);
  try {
    const { blob, disposition } = await downloadBundle(version.id, api());
    const fallback = `model-round-${version.round}-${shortSha(version.sha256)}.tar`;
    saveBlob(blob, fileNameFromDisposition(disposition, fallback));
    announce(`Downloaded the model bundle of round ${version.round}.`);
  } catch (error) {
    handleError(error, `downloading the model bundle of round ${version.round}`);
  } finally {
    state.downloading.delete(version.id);
    renderVersions(state.versions);
  }
}

async function control(mutation, verb) {
  const f = state.federations.find((x) => x.id === state.selectedId);
  if (!f) return;
  if (verb === 'cancel' && !confirm(`Cancel federation "${f.name}"? It can be resumed later.`)) return;
  try {
    await graphql(mutation, { id: f.id }, api());
  } catch (error) {
    handleError(error, `asking to ${verb} "${f.name}"`);
    return;
  }
  announce(`Asked the aggregator to ${verb} "${f.name}"; the status changes once it has.`);
  state.pollUntil = Date.now() + AFTER_ACTION_MS;
  await refresh();
}

// ---- the loss chart (Vega-Lite) ----------------------------------------------------------------

function destroyChart() {
  state.chart.view?.finalize();
  state.chart = { view: null, key: '' };
  $('loss-chart').replaceChildren();
}

/**
 * Draws the chart once per federation (and institution set and width), then only swaps its data
 * on each refresh, so lines do not flicker while rounds arrive.
 */
async function renderChart(federation) {
  const holder = $('loss-chart');
  const { vega, vegaLite } = window;
  if (!vega || !vegaLite) {
    holder.replaceChildren(
      h('p', { class: 'hint' }, 'The chart library did not load; the table lists the losses.'),
    );
    return;
  }
  const values = lossChartValues(state.rounds);
  const institutions = visibleInstitutions(federation);
  const width = Math.max(320, Math.min(960, holder.clientWidth || 640) - 120);
  const key = `${federation.id}|${institutions.join(',')}|${width}|${values.length <= 400}`;
  try {
    if (state.chart.key !== key) {
      destroyChart();
      const spec = lossChartSpec({ institutions, width, points: values.length <= 400 });
      const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), {
        renderer: 'svg',
        container: holder,
        hover: true,
      });
      state.chart = { view, key };
    }
    // resize(): the axis title and the legend change size with the data; without it the SVG keeps
    // the size of the first (empty) layout and clips them.
    await state.chart.view.data(LOSS_DATA, values).resize().runAsync();
  } catch (error) {
    destroyChart();
    holder.replaceChildren(h('p', { class: 'hint' }, `The chart could not be drawn (${error.message}).`));
  }
}

// ---- wiring ------------------------------------------------------------------------------------

$('reload').addEventListener('click', async () => {
  await loadFederations();
  if (state.selectedId) await refresh();
});
$('cancel').addEventListener('click', () => control(CANCEL, 'cancel'));
$('resume').addEventListener('click', () => control(RESUME, 'resume'));
$('more-versions').addEventListener('click', () => {
  state.versionsLimit = VERSIONS_ALL;
  refresh();
});
$('start-open').addEventListener('click', () =>
  federationForm.open(ctx, async (started) => {
    await loadFederations();
    ctx.navigate(`federations/${started.id}`);
  }),
);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && state.selectedId && ctx?.session.token && state.timer === null) refresh();
});
