// Step 4, clips: live progress of each scene's seed image and clip and of the music (the
// jobs' SSE streams, no polling), the running cost against the estimate, the render, and
// per-scene errors with a way to try again.

import { call } from './api.js';
import { itemFailed, itemPercent, itemText, JobProgress, progressRow } from './jobs.js';
import { act, errorBox, h, media, money, rerender, stepView } from './dom.js';
import { stoppedPanel } from './stopped.js';

const ORDER = ['AD_STEP_SEED_IMAGES', 'AD_STEP_CLIPS_AND_MUSIC', 'AD_STEP_COMPOSE', 'AD_STEP_DONE'];

/** The jobs a step started, by role: SEED_IMAGES [images], CLIPS_AND_MUSIC [clips, music]. */
function jobIds(ad, step) {
  return ad.steps.findLast((s) => s.step === step)?.jobIds || [];
}

function passed(ad, step) {
  return ORDER.indexOf(ad.step) > ORDER.indexOf(step);
}

export function ClipsView(ad, studio) {
  const { el, body } = stepView('clips', 'Clips');
  const progress = new JobProgress(() => render());
  const problem = errorBox('clips-error');
  let current = ad;

  /** A row's state: from the ad once its step is over, else from the job's item. */
  function row(label, done, jobId, index) {
    if (done) return progressRow(label, 100, 'done');
    const item = jobId ? progress.item(jobId, index) : undefined;
    return progressRow(label, itemPercent(item), itemText(item), itemFailed(item));
  }

  function sceneRow(adScene, i) {
    const [imagesJob] = jobIds(current, 'AD_STEP_SEED_IMAGES');
    const [clipsJob] = jobIds(current, 'AD_STEP_CLIPS_AND_MUSIC');
    const image = adScene.seedImage?.uri;
    return h('li', { class: 'clip-row', id: `clip-${i}` },
      h('div', { class: 'thumb' }, image ? media('img', image, { alt: `Scene ${i + 1}` }) : null),
      h('div', { class: 'bars' }, h('strong', {}, `Scene ${i + 1}`),
        row('Seed image', passed(current, 'AD_STEP_SEED_IMAGES'), imagesJob, i),
        row('Clip', passed(current, 'AD_STEP_CLIPS_AND_MUSIC'), clipsJob, i)));
  }

  function musicRow() {
    const [, musicJob] = jobIds(current, 'AD_STEP_CLIPS_AND_MUSIC');
    const music = current.music?.uri;
    return h('li', { class: 'clip-row', id: 'music' },
      h('div', { class: 'bars' }, h('strong', {}, 'Music'),
        row('Track', passed(current, 'AD_STEP_CLIPS_AND_MUSIC'), musicJob, 0),
        music ? media('audio', music, { controls: true, 'aria-label': 'The music' }) : null));
  }

  function renderRow() {
    const render = current.renders.at(-1);
    const state = render?.state?.replace('COMPOSITION_STATE_', '').toLowerCase() || 'waiting';
    const percent = { running: 50, completed: 100 }[state] ?? 5;
    return h('li', { class: 'clip-row', id: 'compose' },
      h('div', { class: 'bars' }, h('strong', {}, 'Final video'),
        progressRow('Render', percent, render?.error || state, state === 'failed')));
  }

  function cost() {
    const live = [...jobIds(current, current.step)];
    const spent = Number(current.actualCostMicros) + (passed(current, current.step) ? 0 : progress.spent(live));
    return h('p', { class: 'cost', id: 'cost' },
      `Spent ${money(spent)} of ${money(current.estimatedCostMicros)} estimated for the work started`);
  }

  function cancel() {
    if (current.state !== 'AD_STATE_RUNNING') return null;
    const button = h('button', { type: 'button', id: 'cancel-ad' }, 'Cancel the ad');
    button.addEventListener('click', () => act(button, problem, async () => {
      studio.setAd(await call('POST', `/api/ads/${current.id}/cancel`, {}));
    }));
    return h('div', { class: 'actions' }, button, problem);
  }

  function render() {
    rerender(body, cost(), stoppedPanel(current, studio) || cancel(),
      h('ol', { class: 'clip-list' }, current.storyboard.map(sceneRow), musicRow(), renderRow()));
  }

  function update(next) {
    current = next;
    progress.follow([...jobIds(next, 'AD_STEP_SEED_IMAGES'), ...jobIds(next, 'AD_STEP_CLIPS_AND_MUSIC')]);
    render();
  }

  update(ad);
  return { el, update, close: () => progress.close() };
}
