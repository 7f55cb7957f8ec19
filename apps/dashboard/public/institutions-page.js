/* global confirm, location */
// The institutions page: each institution's registration, certificate (and its expiry), worker
// queue (online or not), when its worker last trained a round and on which backend. Admins
// register institutions (the one-time credentials and a worker settings file are shown once),
// certify them from their worker's certificate request, revoke them, and choose what members see.
import {
  CERTIFY_INSTITUTION,
  CONSORTIUM_SETTINGS,
  INSTITUTIONS,
  REGISTER_INSTITUTION,
  REVOKE_INSTITUTION,
  graphql,
} from './api.js';
import { $, announce, field, h, redraw, saveBlob, showFormErrors, statusBadge, table, time } from './dom.js';
import { csrProblems, daysUntil, formatExpiry, registrationProblems, workerEnvFile } from './forms.js';

let ctx = null;
let institutions = [];
/** Certificates expiring within this many days are flagged. */
const EXPIRY_WARNING_DAYS = 30;

export const institutionsPage = {
  title: 'institutions',
  async show(context) {
    ctx = context;
    const admin = ctx.isAdmin();
    $('institutions-admin').hidden = !admin;
    $('members-see-rounds').checked = Boolean(ctx.session.consortium?.membersSeeInstitutionRounds);
    $('institutions-intro').textContent = admin
      ? 'Every institution of the consortium. Register one, give its worker the settings shown once, then certify the request its worker writes.'
      : `Your institution, ${ctx.session.me.institutionName}. Other institutions are visible to consortium administrators only.`;
    await load();
  },
  hide() {
    $('credentials').hidden = true;
    $('credentials').replaceChildren();
    closeCertify();
  },
};

async function load() {
  try {
    institutions = (await graphql(INSTITUTIONS, { consortiumId: ctx.session.me.consortiumId }, ctx.api()))
      .institutions;
  } catch (error) {
    ctx.handleError(error, 'listing institutions');
    return;
  }
  render();
}

function queueCell(inst) {
  if (inst.workerOnline === true) return h('span', { class: 'badge badge-completed' }, 'online');
  if (inst.workerOnline === false) return h('span', { class: 'badge badge-pending' }, 'offline');
  return h('span', { class: 'hint' }, 'unknown');
}

function certificateCell(inst) {
  if (!inst.certificateExpiresAt) return h('span', { class: 'hint' }, 'none yet');
  const days = daysUntil(inst.certificateExpiresAt);
  return h(
    'span',
    { class: days < EXPIRY_WARNING_DAYS ? 'warn' : null },
    h('code', { title: inst.certificateSerial ?? '' }, (inst.certificateSerial ?? '').slice(0, 8)),
    ` · ${formatExpiry(inst.certificateExpiresAt)} (`,
    time(inst.certificateExpiresAt),
    ')',
  );
}

function render() {
  const admin = ctx.isAdmin();
  const rows = institutions.map((inst) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, inst.name, ' ', h('div', { class: 'hint' }, inst.displayName)),
      h('td', {}, statusBadge(inst.status)),
      h('td', {}, certificateCell(inst)),
      h('td', {}, queueCell(inst)),
      h('td', {}, inst.lastSeenAt ? time(inst.lastSeenAt) : h('span', { class: 'hint' }, 'never')),
      h('td', {}, inst.lastBackend ?? '—'),
      h(
        'td',
        {},
        inst.lastRound
          ? h(
              'a',
              { href: `#/federations/${encodeURIComponent(inst.lastRound.federationId)}` },
              `${inst.lastRound.federationName}, round ${inst.lastRound.round}`,
            )
          : '—',
      ),
      admin
        ? h(
            'td',
            { class: 'actions' },
            inst.status === 'registered'
              ? h(
                  'button',
                  { type: 'button', 'data-focus': `certify-${inst.id}`, onclick: () => openCertify(inst) },
                  'Certify…',
                )
              : null,
            inst.status !== 'revoked'
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'danger',
                    'data-focus': `revoke-${inst.id}`,
                    'aria-label': `Revoke ${inst.name}`,
                    onclick: () => revoke(inst),
                  },
                  'Revoke',
                )
              : null,
          )
        : null,
    ),
  );
  const columns = [
    { label: 'Institution' },
    { label: 'Status' },
    { label: 'Certificate' },
    { label: 'Worker queue' },
    { label: 'Last seen' },
    { label: 'Backend' },
    { label: 'Last job' },
    ...(admin ? [{ label: h('span', { class: 'visually-hidden' }, 'Actions') }] : []),
  ];
  redraw($('institutions-table'), [institutions, admin], () => [
    table({
      caption: 'Institutions: status, certificate, worker queue and last round trained.',
      columns,
      rows,
    }),
  ]);
  $('no-institutions').hidden = institutions.length > 0;
}

async function register(event) {
  event.preventDefault();
  const form = event.target;
  const name = $('reg-name').value.trim();
  const displayName = $('reg-display').value.trim();
  const errors = registrationProblems({ name, displayName });
  showFormErrors(form, $('reg-errors'), errors);
  if (errors.length > 0) return;
  let registration;
  try {
    registration = (
      await graphql(
        REGISTER_INSTITUTION,
        { consortiumId: ctx.session.me.consortiumId, name, displayName },
        ctx.api(),
      )
    ).registerInstitution;
  } catch (error) {
    showFormErrors(form, $('reg-errors'), [{ message: error.message }]);
    return;
  }
  form.reset();
  showCredentials(registration);
  announce(`Registered ${registration.institution.name}.`);
  await load();
}

/** The registration's secrets, shown once: the api keeps only their hashes. */
function showCredentials(registration) {
  const env = workerEnvFile(registration, location.origin);
  const holder = $('credentials');
  holder.replaceChildren(
    h(
      'h3',
      { id: 'credentials-title', tabindex: '-1' },
      `Settings for ${registration.institution.name}\u2019s worker`,
    ),
    h(
      'p',
      { class: 'warn' },
      'Shown once: the api stores only their hashes. Send them to the institution over a private channel.',
    ),
    h(
      'dl',
      { class: 'pairs' },
      h('dt', {}, 'Member token'),
      h('dd', {}, h('code', { id: 'new-token' }, registration.token)),
      h('dt', {}, 'Queue user'),
      h('dd', {}, h('code', {}, registration.queueUsername)),
      h('dt', {}, 'Queue password'),
      h('dd', {}, h('code', {}, registration.queuePassword)),
    ),
    h('p', {}, 'The worker\u2019s settings file (fill in the Redis address and a passphrase of your own):'),
    h('pre', { id: 'worker-env', tabindex: '0', 'aria-label': 'Worker settings file' }, env),
    h(
      'p',
      {},
      'On the institution\u2019s machine: ',
      h('code', {}, 'node dist/trainer-worker/main.js --init'),
      ' with these settings writes the certificate request (institution.csr.pem); certify it here, then start the worker.',
    ),
    h(
      'div',
      { class: 'controls' },
      h(
        'button',
        {
          type: 'button',
          onclick: () =>
            saveBlob(new Blob([env], { type: 'text/plain' }), `${registration.institution.name}.env`),
        },
        'Download settings file',
      ),
      h(
        'button',
        {
          type: 'button',
          onclick: () => {
            holder.hidden = true;
            holder.replaceChildren();
            $('reg-name').focus();
          },
        },
        'I have saved them',
      ),
    ),
  );
  holder.hidden = false;
  $('credentials-title').focus();
}

function openCertify(inst) {
  const holder = $('certify');
  const form = h(
    'form',
    { id: 'certify-form', novalidate: true, 'aria-labelledby': 'certify-title' },
    h('h3', { id: 'certify-title', tabindex: '-1' }, `Certify ${inst.name}`),
    h('div', { id: 'certify-errors', class: 'alert', role: 'alert', hidden: true }),
    field({
      id: 'csr-pem',
      label: 'Certificate request (PEM)',
      control: h('textarea', { rows: '8', spellcheck: 'false' }),
      hint: 'The institution.csr.pem its worker wrote with --init. The consortium CA signs it for 365 days.',
    }),
    field({
      id: 'csr-file',
      label: 'or choose the file',
      control: h('input', { type: 'file', accept: '.pem,.csr,text/plain' }),
    }),
    h(
      'div',
      { class: 'controls' },
      h('button', { type: 'submit' }, 'Certify'),
      h('button', { type: 'button', onclick: closeCertify }, 'Close'),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    certify(inst, form);
  });
  holder.replaceChildren(form);
  holder.hidden = false;
  $('csr-file').addEventListener('change', async () => {
    const file = $('csr-file').files?.[0];
    if (file) $('csr-pem').value = await file.text();
  });
  $('certify-title').focus();
}

function closeCertify() {
  const holder = $('certify');
  holder.hidden = true;
  holder.replaceChildren();
}

async function certify(inst, form) {
  const csrPem = $('csr-pem').value.trim();
  const errors = csrProblems(csrPem);
  showFormErrors(form, $('certify-errors'), errors);
  if (errors.length > 0) return;
  try {
    const result = (await graphql(CERTIFY_INSTITUTION, { id: inst.id, csrPem }, ctx.api()))
      .certifyInstitution;
    announce(`Certified ${result.name}; its certificate ${formatExpiry(result.certificateExpiresAt)}.`);
  } catch (error) {
    showFormErrors(form, $('certify-errors'), [{ field: 'csr-pem', message: error.message }]);
    return;
  }
  closeCertify();
  await load();
}

async function revoke(inst) {
  if (
    !confirm(
      `Revoke ${inst.name}? Its tokens, queue login and certificate stop working at once; this cannot be undone.`,
    )
  )
    return;
  try {
    await graphql(REVOKE_INSTITUTION, { id: inst.id }, ctx.api());
    announce(`Revoked ${inst.name}.`);
  } catch (error) {
    ctx.handleError(error, `revoking ${inst.name}`);
  }
  await load();
}

async function saveSettings(event) {
  event.preventDefault();
  const value = $('members-see-rounds').checked;
  try {
    const result = (
      await graphql(CONSORTIUM_SETTINGS, { consortiumId: ctx.session.me.consortiumId, value }, ctx.api())
    ).updateConsortiumSettings;
    ctx.setConsortium(result);
    announce(
      result.membersSeeInstitutionRounds
        ? 'Members now see every institution\u2019s per-round loss.'
        : 'Members now see only their own institution\u2019s per-round loss and the consortium mean.',
    );
  } catch (error) {
    ctx.handleError(error, 'saving the consortium settings');
  }
}

$('register-form').addEventListener('submit', register);
$('settings-form').addEventListener('submit', saveSettings);
$('institutions-reload').addEventListener('click', () => load());
