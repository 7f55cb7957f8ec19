/* global document, location, history, window */
// The operator console's entry: sign-in with an API token, the navigation, and a hash router
// (#/federations, #/federations/<id>, #/institutions, #/datasets, #/models, #/annotations)
// that shows one page at a time. Each page module owns its section of index.html.
import { ApiError, ME, graphql } from './api.js';
import { $, announce, forgetDrawn, showAlert } from './dom.js';
import { annotationsPage } from './annotations-page.js';
import { datasetsPage } from './datasets-page.js';
import { federationsPage } from './federations-page.js';
import { institutionsPage } from './institutions-page.js';
import { modelsPage } from './models-page.js';

const TOKEN_KEY = 'scprivacy.dashboard.token';

const PAGES = {
  federations: federationsPage,
  institutions: institutionsPage,
  datasets: datasetsPage,
  models: modelsPage,
  annotations: annotationsPage,
};

/** The signed-in session every page reads: token, `me`, and the consortium (with its settings). */
const session = { token: null, me: null, consortium: null };
let current = null;

const ctx = {
  session,
  api: () => ({ token: session.token }),
  isAdmin: () => session.me?.kind === 'admin',
  handleError,
  navigate: (path) => {
    if (location.hash !== `#/${path}`) location.hash = `#/${path}`;
    else route();
  },
  /** A page changed the consortium's settings: keep the session's copy in step. */
  setConsortium: (consortium) => {
    session.consortium = { ...session.consortium, ...consortium };
  },
};

/** Shows an error; a refused token signs out and asks for a new one. */
function handleError(error, doing) {
  if (error instanceof ApiError && error.kind === 'unauthorized') {
    signOut();
    showAlert(`The server refused the token (401): ${error.message} Enter a valid token.`);
    $('token').focus();
    return;
  }
  if (error instanceof ApiError && error.kind === 'forbidden') {
    showAlert(`Not allowed (403) while ${doing}: ${error.message}`);
    return;
  }
  showAlert(`Error while ${doing}: ${error instanceof Error ? error.message : String(error)}`);
}

async function signIn(token) {
  session.token = token;
  let data;
  try {
    data = await graphql(ME, {}, ctx.api());
  } catch (error) {
    session.token = null;
    showSignIn();
    if (error instanceof ApiError && error.kind === 'unauthorized') {
      sessionStorage.removeItem(TOKEN_KEY);
      showAlert(`The server refused this token (401): ${error.message}`);
      $('token').focus();
      return;
    }
    handleError(error, 'signing in');
    return;
  }
  const { me, consortia } = data;
  if (me.kind === 'operator') {
    session.token = null;
    showSignIn();
    showAlert(
      'This is the platform operator token: it creates consortia but cannot act inside one. Sign in with a consortium administrator\u2019s or an institution\u2019s token.',
    );
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  showAlert('');
  session.me = me;
  session.consortium = consortia.find((c) => c.id === me.consortiumId) ?? null;
  const role = me.kind === 'member' ? `member of ${me.institutionName}` : 'consortium administrator';
  $('who').textContent = session.consortium
    ? `Signed in as ${role} · ${session.consortium.name}`
    : `Signed in as ${role}`;
  $('session').hidden = false;
  $('nav').hidden = false;
  $('sign-in').hidden = true;
  document.body.dataset.role = me.kind;
  if (!location.hash.startsWith('#/')) {
    // The round monitor's old links (#federation=<id>) still open the federation.
    const legacy = new URLSearchParams(location.hash.slice(1)).get('federation');
    history.replaceState(null, '', legacy ? `#/federations/${encodeURIComponent(legacy)}` : '#/federations');
  }
  await route();
}

function showSignIn() {
  $('session').hidden = true;
  $('nav').hidden = true;
  for (const page of Object.keys(PAGES)) $(`page-${page}`).hidden = true;
  $('sign-in').hidden = false;
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  current?.hide();
  current = null;
  session.token = null;
  session.me = null;
  session.consortium = null;
  delete document.body.dataset.role;
  forgetDrawn();
  announce('');
  showSignIn();
}

/** Shows the page the hash names (federations by default) and marks its link as current. */
async function route() {
  if (!session.token) return;
  const [name = 'federations', ...params] = location.hash
    .replace(/^#\/?/, '')
    .split('/')
    .map((part) => decodeURIComponent(part));
  const page = PAGES[name] ?? federationsPage;
  const pageName = PAGES[name] ? name : 'federations';
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.page === pageName) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (current !== page) {
    current?.hide();
    for (const key of Object.keys(PAGES)) $(`page-${key}`).hidden = key !== pageName;
    current = page;
    showAlert('');
    announce('');
  }
  document.title = `scPrivacy · ${page.title}`;
  // Chosen from the navigation: focus goes to the page's heading, where a screen reader starts
  // reading and the next Tab starts (a federation's own heading takes it when one is opened).
  const fromNav = document.activeElement?.closest?.('#nav');
  await page.show(ctx, params);
  if (fromNav && params.length === 0) $(`${pageName}-title`)?.focus();
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('token');
  const token = input.value.trim();
  if (!token) {
    showAlert('Enter an API access token.');
    input.focus();
    return;
  }
  input.value = '';
  showAlert('');
  signIn(token);
});
$('sign-out').addEventListener('click', () => {
  signOut();
  history.replaceState(null, '', location.pathname);
  announce('Signed out.');
});
window.addEventListener('hashchange', () => route());

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved);
else showSignIn();
