// The studio page: routes (#/ new ad, #/ads list, #/ads/{id} one ad), the step indicator, and
// the live ad (WatchAd over SSE, reconnecting; every snapshot comes from the server).

import { ApiError, apiKey, onKeyNeeded, stream } from './api.js';
import { h, stepView } from './dom.js';
import { AdsView } from './ads.js';
import { BriefSummaryView, NewAdView } from './brief.js';
import { ClipsView } from './clips.js';
import { FinalView } from './final.js';
import { MoodsView } from './moods.js';
import { StoryboardView } from './storyboard.js';

const STEPS = [
  { name: 'brief', label: 'Vision & brief', view: BriefSummaryView },
  { name: 'moods', label: 'Mood', view: MoodsView },
  { name: 'storyboard', label: 'Storyboard', view: StoryboardView },
  { name: 'clips', label: 'Clips', view: ClipsView },
  { name: 'final', label: 'Final video', view: FinalView },
];
const STEP_OF = {
  AD_STEP_MOODS: 'moods',
  AD_STEP_CHOOSE_MOOD: 'moods',
  AD_STEP_PLAN: 'storyboard',
  AD_STEP_APPROVE_STORYBOARD: 'storyboard',
  AD_STEP_REGENERATE: 'storyboard',
  AD_STEP_SEED_IMAGES: 'clips',
  AD_STEP_CLIPS_AND_MUSIC: 'clips',
  AD_STEP_COMPOSE: 'clips',
  AD_STEP_DONE: 'final',
};
const TERMINAL = new Set(['AD_STATE_COMPLETED', 'AD_STATE_FAILED', 'AD_STATE_CANCELED']);
const RECONNECT_MAX_MS = 10000;

const main = document.getElementById('view');
const stepList = document.getElementById('steps');
const statusLine = document.getElementById('status');

let page = null; // { view, adId, step }
let ad = null; // the newest snapshot of the open ad
let shownStep = null; // a finished step the person went back to; null follows the ad
let watch = null; // AbortController of the running WatchAd, null when none runs

/** The wizard step an ad is at: where reopening it lands. */
function currentStep(snapshot) {
  const rendered = snapshot.renders.some((r) => r.state === 'COMPOSITION_STATE_COMPLETED');
  if (snapshot.step === 'AD_STEP_COMPOSE' && rendered) return 'final'; // a render again
  return STEP_OF[snapshot.step] || 'brief';
}

function say(text) {
  statusLine.textContent = text;
}

function mount(view, where = {}) {
  page?.view.close?.();
  page = { view, ...where };
  main.replaceChildren(view.el);
  window.scrollTo(0, 0);
  view.el.querySelector('h2')?.focus({ preventScroll: true });
}

let stepsShown = '';

function renderSteps(current, showing) {
  const index = STEPS.findIndex((s) => s.name === current);
  const completed = ad?.state === 'AD_STATE_COMPLETED' ? index + 1 : index;
  const key = `${ad?.id}|${current}|${showing}|${completed}`;
  if (key === stepsShown) return; // unchanged: keep the buttons (and a focus on one)
  stepsShown = key;
  stepList.replaceChildren(...STEPS.map((step, i) => {
    const where = i < index ? 'done' : i === index ? 'current' : 'upcoming';
    const parts = [
      h('span', { class: 'dot', 'aria-hidden': 'true' }, i < completed ? '✓' : String(i + 1)),
      h('span', { class: 'label' }, step.label),
    ];
    const attrs = { 'aria-current': i === index ? 'step' : false };
    const item = ad && i <= index
      ? h('button', { type: 'button', ...attrs, onclick: () => showStep(step.name, current) }, parts)
      : h('span', attrs, parts);
    return h('li', { class: `step ${where}${step.name === showing ? ' shown' : ''}` }, item);
  }));
}

function showStep(name, current) {
  shownStep = name === current ? null : name;
  renderAd();
}

function renderAd() {
  const current = currentStep(ad);
  const showing = shownStep ?? current;
  renderSteps(current, showing);
  if (page?.adId === ad.id && page.step === showing) {
    page.view.update?.(ad);
    return;
  }
  const { view } = STEPS.find((s) => s.name === showing);
  mount(view(ad, studio), { adId: ad.id, step: showing });
}

function receive(snapshot) {
  if (ad && ad.id === snapshot.id && Number(snapshot.version) < Number(ad.version)) return;
  ad = snapshot;
  renderAd();
}

async function watchAd(id, signal) {
  let delay = 500;
  while (!signal.aborted) {
    try {
      const onMessage = (snapshot) => { delay = 500; say(''); receive(snapshot); };
      // The first message is always the server's snapshot, so a reconnect resumes exactly.
      if (await stream('GET', `/api/ads/${id}/events`, { onMessage, signal })) break;
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
        showProblem(error);
        break;
      }
    }
    if (ad && TERMINAL.has(ad.state)) break;
    say('Connection to the studio lost; reconnecting…');
    await new Promise((resolve) => { setTimeout(resolve, delay); });
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  }
  if (watch?.signal === signal) watch = null;
}

function startWatch(id) {
  watch?.abort();
  watch = new AbortController();
  watchAd(id, watch.signal);
}

function stopWatch() {
  watch?.abort();
  watch = null;
}

function showProblem(error) {
  const { el, body } = stepView('problem', 'Something went wrong');
  body.append(h('p', { class: 'error', role: 'alert' }, error.message),
    h('p', {}, h('a', { href: '#/ads' }, 'Back to your ads')));
  mount({ el });
}

/** What the steps may ask of the page. */
const studio = {
  /** An action's answer: shown at once, and watched again when it set the ad running. */
  setAd(next) {
    shownStep = null;
    receive(next);
    if (!TERMINAL.has(next.state) && !watch) startWatch(next.id);
  },
  open(id) {
    location.hash = `#/ads/${id}`;
  },
  show(name) {
    showStep(name, currentStep(ad));
  },
};

function route() {
  stopWatch();
  ad = null;
  shownStep = null;
  page?.view.close?.();
  page = null;
  const match = location.hash.match(/^#\/ads\/([\w-]+)$/);
  if (location.hash === '#/ads') {
    renderSteps(null, null);
    mount(AdsView(studio));
  } else if (match) {
    renderSteps(null, null);
    main.replaceChildren(h('p', { class: 'loading' }, 'Opening the ad…'));
    startWatch(match[1]);
  } else {
    renderSteps('brief', 'brief');
    mount(NewAdView(studio));
  }
}

function askForKey() {
  const dialog = document.getElementById('key-dialog');
  const input = document.getElementById('key-input');
  input.value = '';
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      const key = input.value.trim();
      if (dialog.returnValue === 'ok' && key) {
        apiKey.set(key);
        resolve(true);
        return;
      }
      if (dialog.returnValue === 'forget') apiKey.forget();
      resolve(false);
    }, { once: true });
  });
}

onKeyNeeded(askForKey);
document.getElementById('key-button').addEventListener('click', async () => {
  await askForKey();
  route();
});
window.addEventListener('hashchange', route);
route();
