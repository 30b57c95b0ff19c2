// A canceled or failed ad, on whichever step it stopped: what happened, and two ways on.
// "Resume" continues this ad from that step (ResumeAd: what was made is kept and not paid
// again); "Start over from this brief" makes a new ad from the same brief and options.

import { call } from './api.js';
import { act, enumText, errorBox, h } from './dom.js';

/** The panel for a CANCELED or FAILED ad; null for any other state. */
export function stoppedPanel(ad, studio) {
  const canceled = ad.state === 'AD_STATE_CANCELED';
  if (!canceled && ad.state !== 'AD_STATE_FAILED') return null;
  const failedStep = ad.steps.findLast((s) => s.error)?.step || ad.step;
  const problem = errorBox('stopped-error');
  const resume = h('button', { type: 'button', class: 'primary', id: 'resume-ad' },
    `Resume from ${enumText(ad.step, 'AD_STEP_')}`);
  resume.addEventListener('click', () => act(resume, problem, async () => {
    studio.setAd(await call('POST', `/api/ads/${ad.id}/resume`, {}));
  }));
  const again = h('button', { type: 'button', id: 'start-again' }, 'Start over from this brief');
  again.addEventListener('click', () => act(again, problem, async () => {
    const created = await call('POST', '/api/ads', { brief: ad.brief, options: ad.options });
    studio.open(created.id);
  }));
  const what = canceled
    ? [h('strong', {}, 'Canceled. '), 'Nothing more is made or paid for this ad.']
    : [h('strong', {}, `Failed at ${enumText(failedStep, 'AD_STEP_')}: `), ad.error || 'no reason was given.'];
  return h('div', { class: 'panel failed', id: 'ad-stopped' },
    h('p', { class: 'error', role: 'alert' }, what),
    h('p', {}, 'Resuming goes on from that step: what was made is kept and not paid again. ',
      'Starting over makes a new ad from the same brief and options.'),
    h('div', { class: 'actions' }, resume, again), problem);
}
