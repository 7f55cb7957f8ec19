// The "Start a federation" form (consortium admins): preset, participants and their datasets,
// training and secure-aggregation settings. Checked here first (forms.js), then by the api, whose
// message is shown if it refuses.
import { FEDERATION_FORM, START_FEDERATION, graphql } from './api.js';
import { $, announce, field, h, showFormErrors } from './dom.js';
import { federationInput } from './forms.js';

let ctx = null;
let onStarted = null;
let choices = { institutions: [], datasets: [], presets: [] };

function input(attrs) {
  return h('input', { type: 'text', autocomplete: 'off', ...attrs });
}

function presetOf(name) {
  return choices.presets.find((p) => p.name === name) ?? choices.presets.find((p) => p.name === 'published');
}

/** Placeholders show what an empty field becomes: the preset's value, or the api's default. */
function showPresetDefaults() {
  const preset = presetOf($('fed-preset').value);
  if (!preset) return;
  $('fed-rounds').placeholder = String(preset.rounds);
  $('fed-localSteps').placeholder = String(preset.localSteps);
  $('fed-learningRate').placeholder = String(preset.learningRate);
  $('fed-variableGenes').placeholder = preset.variableGenes ? String(preset.variableGenes) : 'every gene';
  $('fed-variableGenesPerCell').placeholder = preset.variableGenesPerCell
    ? String(preset.variableGenesPerCell)
    : 'no cap (0)';
  $('fed-detectedValuesPerGene').placeholder = preset.detectedValuesPerGene
    ? String(preset.detectedValuesPerGene)
    : 'no cap (0)';
  $('fed-ensembleSize').placeholder = String(preset.ensembleSize ?? 1);
  // A preset's dropout may apply only at plate-based institutions (inputDropoutMinDetection).
  $('fed-inputDropout').placeholder = !preset.inputDropout
    ? 'none (0)'
    : preset.inputDropoutMinDetection
      ? `${preset.inputDropout} where ≥ ${Math.round(preset.inputDropoutMinDetection * 100)}% of genes detected`
      : String(preset.inputDropout);
  $('fed-preset-hint').textContent = preset.description;
}

function institutionChoices() {
  const byInstitution = new Map();
  for (const d of choices.datasets) {
    if (!byInstitution.has(d.institutionId)) byInstitution.set(d.institutionId, []);
    byInstitution.get(d.institutionId).push(d);
  }
  const usable = choices.institutions.filter((i) => i.status !== 'revoked');
  if (usable.length === 0) {
    return [h('p', { class: 'hint' }, 'No institutions yet: register them on the Institutions page first.')];
  }
  return usable.map((inst) => {
    const datasets = byInstitution.get(inst.id) ?? [];
    const note =
      datasets.length === 0
        ? ' (no datasets yet)'
        : inst.status !== 'certified'
          ? ' (not certified: plain federations only)'
          : '';
    return h(
      'li',
      {},
      h(
        'label',
        { class: 'inline' },
        h('input', {
          type: 'checkbox',
          name: 'institution',
          value: inst.name,
          checked: datasets.length > 0 && inst.status === 'certified',
          disabled: datasets.length === 0,
        }),
        ` ${inst.name}${note}`,
      ),
      datasets.length > 1
        ? h(
            'ul',
            { class: 'datasets', 'aria-label': `Datasets of ${inst.name}` },
            datasets.map((d) =>
              h(
                'li',
                {},
                h(
                  'label',
                  { class: 'inline' },
                  h('input', { type: 'checkbox', name: `dataset-${inst.name}`, value: d.id, checked: true }),
                  ` ${d.name} (${d.cells} cells)`,
                ),
              ),
            ),
          )
        : null,
    );
  });
}

function build() {
  const form = h('form', { id: 'start-form', novalidate: true, 'aria-labelledby': 'start-title' });
  const presetSelect = h(
    'select',
    { onchange: showPresetDefaults },
    choices.presets.map((p) =>
      h(
        'option',
        { value: p.name, disabled: !p.availableOnPlatform, selected: p.name === 'published' },
        p.availableOnPlatform ? p.name : `${p.name} (command line only)`,
      ),
    ),
  );
  form.append(
    h('h3', { id: 'start-title', tabindex: '-1' }, 'Start a federation'),
    h('div', { id: 'start-errors', class: 'alert', role: 'alert', hidden: true }),
    field({ id: 'fed-name', label: 'Name', control: input({ required: true, maxlength: '200' }) }),
    field({ id: 'fed-preset', label: 'Preset', control: presetSelect, hint: ' ' }),
    h(
      'fieldset',
      { id: 'fed-institutions', tabindex: '-1' },
      h('legend', {}, 'Institutions (in federation order) and their datasets'),
      h('ul', { class: 'choices' }, institutionChoices()),
    ),
    h(
      'div',
      { class: 'grid' },
      field({ id: 'fed-rounds', label: 'Rounds', control: input({ inputmode: 'numeric' }) }),
      field({
        id: 'fed-localSteps',
        label: 'Local steps per round',
        control: input({ inputmode: 'numeric' }),
      }),
      field({ id: 'fed-learningRate', label: 'Learning rate', control: input({ inputmode: 'decimal' }) }),
      field({
        id: 'fed-variableGenes',
        label: 'Variable genes per institution (0: every gene)',
        control: input({ inputmode: 'numeric' }),
      }),
      field({
        id: 'fed-variableGenesPerCell',
        label: 'Variable genes per reference cell, at most (0: no cap)',
        control: input({ inputmode: 'numeric' }),
      }),
      field({
        id: 'fed-detectedValuesPerGene',
        label: 'Detected values per variable gene, at least (0: no cap)',
        control: input({ inputmode: 'numeric' }),
      }),
      field({
        id: 'fed-ensembleSize',
        label: 'Models (ensemble, each from its own seed)',
        control: input({ inputmode: 'numeric' }),
      }),
      field({
        id: 'fed-inputDropout',
        label: 'Gene dropout while training (0 to 0.9)',
        control: input({ inputmode: 'decimal' }),
      }),
      field({ id: 'fed-seed', label: 'Seed', control: input({ inputmode: 'numeric', placeholder: '0' }) }),
      field({
        id: 'fed-weighting',
        label: 'Weighting',
        control: h(
          'select',
          {},
          h('option', { value: 'uniform' }, 'uniform (every institution alike)'),
          h('option', { value: 'numExamples' }, 'by number of cells'),
        ),
      }),
      field({
        id: 'fed-checkpointEvery',
        label: 'Keep a checkpoint every … rounds',
        control: input({ inputmode: 'numeric', placeholder: 'a tenth of the rounds' }),
      }),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Model shape'),
      h(
        'div',
        { class: 'grid' },
        field({
          id: 'fed-hiddenSize',
          label: 'Hidden layer size',
          control: input({ inputmode: 'numeric', placeholder: '500' }),
        }),
        field({
          id: 'fed-embeddingSize',
          label: 'Embedding size',
          control: input({ inputmode: 'numeric', placeholder: '20' }),
        }),
      ),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Secure aggregation'),
      h(
        'label',
        { class: 'inline' },
        h('input', { type: 'checkbox', id: 'fed-secure', checked: true }),
        ' Mask each institution\u2019s update so that the aggregator sees only their sum',
      ),
      h(
        'div',
        { class: 'grid' },
        field({
          id: 'fed-threshold',
          label: 'Threshold (institutions needed per round)',
          control: input({ inputmode: 'numeric', placeholder: 'a majority' }),
        }),
        field({
          id: 'fed-roundDeadlineSeconds',
          label: 'Round deadline (seconds)',
          control: input({ inputmode: 'numeric', placeholder: '600' }),
        }),
      ),
    ),
    h(
      'div',
      { class: 'controls' },
      h('button', { type: 'submit', id: 'start-submit' }, 'Start federation'),
      h('button', { type: 'button', id: 'start-cancel', onclick: () => federationForm.close() }, 'Close'),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit(form);
  });
  return form;
}

function values(form) {
  const checked = (name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((n) => n.value);
  const institutions = checked('institution');
  const datasets = {};
  for (const name of institutions) {
    const all = form.querySelectorAll(`input[name="dataset-${name}"]`);
    const chosen = checked(`dataset-${name}`);
    // All of them checked: leave it to the api's default (all datasets, oldest first).
    if (all.length > 0 && chosen.length < all.length) datasets[name] = chosen;
  }
  const text = (id) => $(id).value;
  return {
    name: text('fed-name'),
    preset: text('fed-preset'),
    rounds: text('fed-rounds'),
    localSteps: text('fed-localSteps'),
    learningRate: text('fed-learningRate'),
    variableGenes: text('fed-variableGenes'),
    variableGenesPerCell: text('fed-variableGenesPerCell'),
    detectedValuesPerGene: text('fed-detectedValuesPerGene'),
    ensembleSize: text('fed-ensembleSize'),
    inputDropout: text('fed-inputDropout'),
    seed: text('fed-seed'),
    weighting: text('fed-weighting'),
    checkpointEvery: text('fed-checkpointEvery'),
    threshold: text('fed-threshold'),
    roundDeadlineSeconds: text('fed-roundDeadlineSeconds'),
    hiddenSize: text('fed-hiddenSize'),
    embeddingSize: text('fed-embeddingSize'),
    secureAggregation: $('fed-secure').checked,
    institutions,
    datasets,
  };
}

async function submit(form) {
  const v = values(form);
  const { input: startInput, errors } = federationInput(v, {
    consortiumId: ctx.session.me.consortiumId,
    presets: choices.presets,
  });
  const summary = $('start-errors');
  showFormErrors(form, summary, errors);
  if (errors.length > 0) return;
  const button = $('start-submit');
  button.disabled = true;
  button.textContent = 'Starting…';
  try {
    const { startFederation } = await graphql(START_FEDERATION, { input: startInput }, ctx.api());
    announce(`Federation "${startFederation.name}" started; the aggregator picks it up in a moment.`);
    federationForm.close();
    await onStarted?.(startFederation);
  } catch (error) {
    // The api's message names the field at fault (e.g. "checkpointEvery: …").
    showFormErrors(form, summary, [{ message: error.message }]);
    summary.focus?.();
  } finally {
    button.disabled = false;
    button.textContent = 'Start federation';
  }
}

export const federationForm = {
  async open(context, started) {
    ctx = context;
    onStarted = started;
    try {
      const data = await graphql(FEDERATION_FORM, { consortiumId: ctx.session.me.consortiumId }, ctx.api());
      choices = { institutions: data.institutions, datasets: data.datasets, presets: data.trainingPresets };
    } catch (error) {
      ctx.handleError(error, 'loading the start form');
      return;
    }
    const holder = $('start-holder');
    holder.replaceChildren(build());
    holder.hidden = false;
    $('start-open').setAttribute('aria-expanded', 'true');
    showPresetDefaults();
    $('start-title').focus();
  },
  close() {
    const holder = $('start-holder');
    if (!holder || holder.hidden) return;
    holder.hidden = true;
    holder.replaceChildren();
    $('start-open').setAttribute('aria-expanded', 'false');
    $('start-open').focus();
  },
};
