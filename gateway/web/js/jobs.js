// Live progress of the generator jobs a step started (WatchJob over SSE, reconnecting): the ad's
// own snapshots change only when a step ends, its jobs' items move in between.

import { ApiError, stream } from './api.js';
import { h } from './dom.js';

const ITEM_PERCENT = {
  ITEM_STATE_QUEUED: 5,
  ITEM_STATE_SUBMITTING: 15,
  ITEM_STATE_RUNNING: 50,
  ITEM_STATE_DOWNLOADING: 90,
  ITEM_STATE_SUCCEEDED: 100,
};
const FAILED = new Set(['ITEM_STATE_FAILED', 'ITEM_STATE_CANCELED']);
const RECONNECT_MAX_MS = 10000;

export function itemPercent(item) {
  return ITEM_PERCENT[item?.state] ?? 0;
}

export function itemFailed(item) {
  return FAILED.has(item?.state);
}

export function itemText(item) {
  if (!item) return 'waiting';
  if (item.state === 'ITEM_STATE_SUCCEEDED') return item.cached ? 'done (from the cache)' : 'done';
  if (itemFailed(item)) return item.error || 'failed';
  return item.state.replace('ITEM_STATE_', '').toLowerCase();
}

/** A labelled <progress> with its state in words. */
export function progressRow(label, percent, text, failed = false) {
  return h('div', { class: `progress-row${failed ? ' failed' : ''}` },
    h('span', { class: 'progress-label' }, label),
    h('progress', { max: 100, value: percent, 'aria-label': label }),
    h('span', { class: 'progress-text' }, text));
}

export class JobProgress {
  constructor(onChange) {
    this.onChange = onChange;
    this.jobs = new Map();
    this.watches = new Map();
  }

  /** Starts watching every id not watched yet (a finished job's last snapshot stays). */
  follow(ids) {
    for (const id of ids) if (!this.watches.has(id)) this.watch(id);
  }

  job(id) {
    return this.jobs.get(id);
  }

  item(id, index) {
    return this.jobs.get(id)?.items[index];
  }

  /** Actual cost of the followed jobs, micro-USD. */
  spent(ids) {
    return ids.reduce((sum, id) => sum + Number(this.jobs.get(id)?.actualCostMicros || 0), 0);
  }

  /** One bar per job: its overall percent. */
  view(label) {
    return [...this.jobs.values()].map((job) => progressRow(label, job.percent,
      `${Math.round(job.percent)} %`, job.state === 'JOB_STATE_FAILED'));
  }

  async watch(id) {
    const controller = new AbortController();
    this.watches.set(id, controller);
    const onMessage = (job) => { this.jobs.set(id, job); this.onChange(); };
    let delay = 500;
    while (!controller.signal.aborted) {
      try {
        if (await stream('GET', `/api/jobs/${id}/events`, { onMessage, signal: controller.signal })) return;
      } catch (error) {
        if (controller.signal.aborted) return;
        if (error instanceof ApiError && error.status >= 400 && error.status < 500) return;
      }
      await new Promise((resolve) => { setTimeout(resolve, delay); });
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    }
  }

  close() {
    for (const controller of this.watches.values()) controller.abort();
  }
}
