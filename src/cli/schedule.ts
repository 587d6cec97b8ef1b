/**
 * `modelship schedule …`: Temporal Schedules whose action starts a BatchRolloutWorkflow. The
 * rollout file is read and validated when the schedule is created, and the parsed rollout
 * travels in the action's arguments: editing the file changes nothing until
 * `schedule create --overwrite` puts the new version in. The action's workflow id is
 * `batch-<schedule id>`, to which Temporal appends each run's scheduled time, and the batch
 * derives its id from that: one batch per run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  ServiceError,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleSpec,
  type Workflow,
} from '@temporalio/client';
import { batchWorkflowId } from '../batch/ids.js';
import { batchDetails, batchSummary } from '../batch/start-metadata.js';
import type { Rollout } from '../batch/types.js';
import { BATCH_WORKFLOW_TYPE } from '../workflow-definitions.js';
import { connectClient } from './client.js';
import { loadRollout } from './batch.js';
import { OVERLAP_POLICIES } from './defaults.js';
import { CliError, printJson, say } from './output.js';
import { missingSearchAttribute } from '../search-attribute-check.js';

type Overlap = (typeof OVERLAP_POLICIES)[number];

const SCHEDULE_ID = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;
/** ms-style durations as Temporal takes them: 90s, 15m, 1h, 1d, 500ms. */
const DURATION = /^\d+(\.\d+)?(ms|s|m|h|d)$/;

export interface ScheduleCreateOptions {
  cron?: string[];
  interval?: string[];
  overlap?: string;
  catchupWindow?: string;
  timezone?: string;
  paused?: boolean;
  note?: string;
  overwrite?: boolean;
  json?: boolean;
}

export async function scheduleCreateCommand(scheduleId: string, file: string, options: ScheduleCreateOptions): Promise<void> {
  checkScheduleId(scheduleId);
  const overlap = overlapPolicy(options.overlap ?? 'skip');
  const spec = scheduleSpec(options);
  if (options.catchupWindow !== undefined) duration(options.catchupWindow, '--catchup-window');
  const rollout = await loadRollout(file, { quiet: options.json ?? false });
  const { client, settings, close } = await connectClient();
  try {
    const action = batchAction(rollout, scheduleId, settings.taskQueue);
    const policies = { overlap, ...(options.catchupWindow ? { catchupWindow: options.catchupWindow } : {}) };
    const state = { paused: options.paused ?? false, ...(options.note ? { note: options.note } : {}) };
    let replaced = false;
    try {
      await withScheduleErrors(scheduleId, () =>
        client.schedule.create({ scheduleId, spec, action, policies, state, memo: { rolloutFile: rollout.file, rolloutName: rollout.name, models: rollout.entries.length } }),
        settings.namespace,
      );
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      if (!options.overwrite) throw new CliError(`schedule ${scheduleId} exists: add --overwrite to replace its rollout, spec and policies (or pick another id)`);
      // Memo cannot be updated; describe shows the rollout from the action's arguments.
      await withScheduleErrors(scheduleId, () => client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action, policies, state })), settings.namespace);
      replaced = true;
    }
    const description = await client.schedule.getHandle(scheduleId).describe();
    if (options.json) return printJson(scheduleView(description));
    say(`schedule ${scheduleId} ${replaced ? 'updated' : 'created'}: ${action.staticSummary}`);
    say(`  ${specLine(description)}; overlap ${overlapName(description.policies.overlap)}; catch-up window ${seconds(description.policies.catchupWindow)}${description.state.paused ? '; PAUSED' : ''}`);
    say(`  next runs ${description.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()).join(', ') || '(none)'}`);
    say(`  the rollout is stored in the schedule: after editing ${rollout.file}, run 'modelship schedule create ${scheduleId} ${file} --overwrite ...' again`);
  } finally {
    await close();
  }
}

export async function scheduleListCommand(options: { json?: boolean }): Promise<void> {
  const { client, close } = await connectClient();
  try {
    const rows = [];
    for await (const s of client.schedule.list()) {
      if (s.action?.workflowType !== BATCH_WORKFLOW_TYPE) continue;
      rows.push({
        scheduleId: s.scheduleId,
        paused: s.state.paused,
        note: s.state.note,
        rollout: s.memo?.rolloutName,
        models: s.memo?.models,
        spec: specText(s.spec),
        nextRun: s.info.nextActionTimes[0]?.toISOString(),
        lastRun: s.info.recentActions.at(-1)?.action.workflow.workflowId,
      });
    }
    if (options.json) return printJson(rows);
    if (!rows.length) return say('no batch schedules');
    for (const r of rows) {
      say(`${r.scheduleId}${r.paused ? '  PAUSED' : ''}  ${r.spec}  next ${r.nextRun ?? '-'}  last ${r.lastRun ?? '-'}${r.note ? `  note: ${r.note}` : ''}`);
    }
  } finally {
    await close();
  }
}

export async function scheduleDescribeCommand(scheduleId: string, options: { json?: boolean }): Promise<void> {
  await withHandle(scheduleId, async (handle) => {
    const d = await withScheduleErrors(scheduleId, () => handle.describe());
    const view = scheduleView(d);
    if (options.json) return printJson(view);
    say(`schedule ${scheduleId}${d.state.paused ? '  (PAUSED)' : ''}${d.state.note ? `  note: ${d.state.note}` : ''}`);
    say(`  ${specLine(d)}`);
    say(`  overlap ${view.overlap}, catch-up window ${seconds(d.policies.catchupWindow)}`);
    say(`  starts ${view.workflowType} ${view.workflowIdPrefix}-<scheduled time> on task queue ${view.taskQueue}`);
    if (view.rollout) say(`  rollout ${view.rollout.name}${view.rollout.file ? ` (${view.rollout.file} at create time)` : ''}: ${view.rollout.models} models, waves of ${view.rollout.waveSize}`);
    say(`  taken ${d.info.numActionsTaken}, skipped by overlap ${d.info.numActionsSkippedOverlap}, missed the catch-up window ${d.info.numActionsMissedCatchupWindow}`);
    say(`  next runs ${view.nextRuns.slice(0, 3).join(', ') || '(none)'}`);
    for (const r of view.recentRuns) say(`  ran ${r.scheduledAt}  ${r.workflowId}`);
    for (const r of view.runningWorkflowIds) say(`  running ${r}`);
  });
}

export async function schedulePauseCommand(scheduleId: string, pause: boolean, options: { note?: string }): Promise<void> {
  await withHandle(scheduleId, async (handle) => {
    await withScheduleErrors(scheduleId, () => (pause ? handle.pause(options.note) : handle.unpause(options.note)));
    say(`schedule ${scheduleId} ${pause ? 'paused' : 'unpaused'}${options.note ? `: ${options.note}` : ''}`);
  });
}

/** Runs the action now; waits briefly to name the batch it started (or say the overlap policy skipped it). */
export async function scheduleTriggerCommand(scheduleId: string, options: { overlap?: string; json?: boolean }): Promise<void> {
  const overlap = options.overlap ? overlapPolicy(options.overlap) : undefined;
  await withHandle(scheduleId, async (handle) => {
    const before = await withScheduleErrors(scheduleId, () => handle.describe());
    await withScheduleErrors(scheduleId, () => handle.trigger(overlap));
    let started: string | undefined;
    let skipped = false;
    for (let i = 0; i < 50 && !started && !skipped; i++) {
      await sleep(200);
      const now = await handle.describe();
      if (now.info.numActionsTaken > before.info.numActionsTaken) started = now.info.recentActions.at(-1)?.action.workflow.workflowId;
      skipped = now.info.numActionsSkippedOverlap > before.info.numActionsSkippedOverlap;
    }
    if (options.json) return printJson({ scheduleId, triggered: true, workflowId: started, skippedByOverlap: skipped });
    if (started) say(`schedule ${scheduleId} triggered: started ${started}; follow it with 'modelship batch status ${started}'`);
    else if (skipped) say(`schedule ${scheduleId} triggered, but the overlap policy skipped the run (a batch is still running)`);
    else say(`schedule ${scheduleId} triggered; see 'modelship schedule describe ${scheduleId}' for the batch it starts`);
  });
}

export async function scheduleBackfillCommand(scheduleId: string, options: { start: string; end: string; overlap?: string }): Promise<void> {
  const start = isoTime(options.start, '--start');
  const end = isoTime(options.end, '--end');
  if (end <= start) throw new CliError('--end must be after --start', 2);
  const overlap = options.overlap ? overlapPolicy(options.overlap) : undefined;
  await withHandle(scheduleId, async (handle) => {
    await withScheduleErrors(scheduleId, () => handle.backfill({ start, end, ...(overlap ? { overlap } : {}) }));
    say(`schedule ${scheduleId}: backfilling the runs scheduled from ${start.toISOString()} to ${end.toISOString()}${overlap ? ` (overlap ${options.overlap})` : ''}`);
  });
}

export async function scheduleDeleteCommand(scheduleId: string): Promise<void> {
  await withHandle(scheduleId, async (handle) => {
    await withScheduleErrors(scheduleId, () => handle.delete());
    say(`schedule ${scheduleId} deleted (batches it started keep running)`);
  });
}

/** The action: a batch of the parsed rollout, its workflow id suffixed by Temporal with the scheduled time. */
export function batchAction(rollout: Rollout, scheduleId: string, taskQueue: string): ScheduleOptionsStartWorkflowAction<Workflow> & { staticSummary: string } {
  return {
    type: 'startWorkflow',
    workflowType: BATCH_WORKFLOW_TYPE,
    workflowId: batchWorkflowId(scheduleId),
    taskQueue,
    args: [{ rollout }],
    staticSummary: batchSummary(rollout, `scheduled batch ${scheduleId}`),
    staticDetails: batchDetails(rollout, `Scheduled batch ${scheduleId} (one batch per run)`),
  };
}

function scheduleSpec(options: ScheduleCreateOptions): ScheduleSpec {
  const cron = options.cron ?? [];
  const intervals = options.interval ?? [];
  if (!cron.length && !intervals.length) throw new CliError('say when: --cron "<expression>" and/or --interval <duration> (e.g. 1h)', 2);
  for (const expression of cron) checkCron(expression);
  return {
    ...(cron.length ? { cronExpressions: cron } : {}),
    ...(intervals.length ? { intervals: intervals.map((every) => ({ every: duration(every, '--interval') })) } : {}),
    ...(options.timezone ? { timezone: options.timezone } : {}),
  };
}

/**
 * Temporal's cron: 5 fields (minute hour day-of-month month day-of-week), or 6-7 with seconds
 * and years, or @every/@daily style. The server checks the values; this catches the shape early.
 */
function checkCron(expression: string): void {
  const text = expression.trim();
  if (/^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(text) || /^@every \S+$/.test(text)) return;
  const fields = text.replace(/^(CRON_TZ|TZ)=\S+\s+/, '').split(/\s+/);
  if (fields.length < 5 || fields.length > 7 || !fields.every((f) => /^[0-9A-Za-z*?/,#L-]+$/.test(f))) {
    throw new CliError(`invalid --cron ${JSON.stringify(expression)}: expected 5 fields "minute hour day-of-month month day-of-week" (e.g. "0 3 * * *"), or @daily, @hourly, @every 1h`, 2);
  }
}

function overlapPolicy(name: string): ScheduleOverlapPolicy {
  if (!(OVERLAP_POLICIES as readonly string[]).includes(name)) throw new CliError(`unknown --overlap ${JSON.stringify(name)}: use one of ${OVERLAP_POLICIES.join(', ')}`, 2);
  return name.toUpperCase().replace(/-/g, '_') as ScheduleOverlapPolicy;
}

function overlapName(policy: ScheduleOverlapPolicy | undefined): Overlap | 'unspecified' {
  return policy ? (policy.toLowerCase().replace(/_/g, '-') as Overlap) : 'unspecified';
}

function duration(text: string, flag: string): string {
  if (!DURATION.test(text)) throw new CliError(`invalid ${flag} ${JSON.stringify(text)}: use a number with ms, s, m, h or d (e.g. 90s, 15m, 1h, 1d)`, 2);
  return text;
}

function isoTime(text: string, flag: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new CliError(`invalid ${flag} ${JSON.stringify(text)}: use an ISO 8601 time, e.g. 2025-06-01T03:00:00Z`, 2);
  return date;
}

function checkScheduleId(id: string): void {
  if (!SCHEDULE_ID.test(id) || id.includes('..')) throw new CliError(`invalid schedule id ${JSON.stringify(id)}: use 1-100 letters, digits, '.', '_', '+' or '-', starting with a letter or digit`, 2);
}

async function withHandle(scheduleId: string, fn: (handle: ScheduleHandle, client: Client) => Promise<void>): Promise<void> {
  const { client, close } = await connectClient();
  try {
    await fn(client.schedule.getHandle(scheduleId), client);
  } finally {
    await close();
  }
}

/** Schedule errors in one line: not found, and the server's refusal of a bad spec or policy. */
async function withScheduleErrors<T>(scheduleId: string, fn: () => Promise<T>, namespace?: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new CliError(`no schedule ${scheduleId}; see 'modelship schedule list'`);
    if (err instanceof ScheduleAlreadyRunning) throw err;
    // The action starts a batch with search attributes: a namespace without them refuses the schedule.
    const missing = namespace === undefined ? undefined : missingSearchAttribute(err, namespace);
    if (missing) throw missing;
    // The SDK turns the server's "Invalid schedule spec" into a TypeError with the reason.
    if (err instanceof TypeError) throw new CliError(`schedule ${scheduleId} refused by Temporal: invalid spec: ${err.message}`, 2);
    const cause = (err as { cause?: { details?: string } }).cause;
    if (err instanceof ServiceError && cause?.details) throw new CliError(`schedule ${scheduleId}: ${err.message}: ${cause.details}`);
    throw err;
  }
}

function specText(spec: ScheduleDescription['spec'] | undefined): string {
  if (!spec) return '?';
  const parts = [
    // The server keeps cron expressions as calendars: shown in cron form again.
    ...(spec.calendars ?? []).map((c) => `cron "${calendarAsCron(c as unknown as Calendar)}"`),
    ...(spec.intervals ?? []).map((i) => `every ${seconds(Number(i.every))}`),
    ...((spec as { cronExpressions?: string[] }).cronExpressions ?? []).map((c) => `cron "${c}"`),
  ];
  return parts.join(', ') || '(no times)';
}

type Range = { start: number | string; end: number | string; step: number };
type Calendar = Record<'second' | 'minute' | 'hour' | 'dayOfMonth' | 'month' | 'dayOfWeek' | 'year', Range[] | undefined> & { comment?: string };
const MONTH_NUMBER: Record<string, number> = Object.fromEntries(['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'].map((m, i) => [m, i + 1]));
const DAY_NUMBER: Record<string, number> = Object.fromEntries(['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'].map((d, i) => [d, i]));

/** A described calendar spec back in cron form: "0 3 * * *" (seconds first when not 0, years last when set). */
function calendarAsCron(c: Calendar): string {
  const field = (ranges: Range[] | undefined, lo: number, hi: number, names: Record<string, number> = {}): string => {
    const num = (v: number | string) => (typeof v === 'string' ? (names[v] ?? v) : v);
    const list = (ranges ?? []).map((r) => ({ start: num(r.start), end: num(r.end ?? r.start), step: r.step || 1 }));
    if (!list.length || (list.length === 1 && list[0]!.start === lo && list[0]!.end === hi && list[0]!.step === 1)) return '*';
    return list.map((r) => `${r.start === lo && r.end === hi ? '*' : r.start === r.end ? r.start : `${r.start}-${r.end}`}${r.step > 1 ? `/${r.step}` : ''}`).join(',');
  };
  const second = field(c.second, 0, 59);
  const year = c.year?.length ? field(c.year, 0, 9999) : '';
  const five = [field(c.minute, 0, 59), field(c.hour, 0, 23), field(c.dayOfMonth, 1, 31), field(c.month, 1, 12, MONTH_NUMBER), field(c.dayOfWeek, 0, 6, DAY_NUMBER)];
  return [...(second === '0' ? [] : [second]), ...five, ...(year ? [year] : [])].join(' ');
}

function specLine(d: ScheduleDescription): string {
  return `${specText(d.spec)}${d.spec.timezone ? ` (${d.spec.timezone})` : ''}`;
}

function seconds(ms: number): string {
  const s = ms / 1000;
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]] as const) if (s >= size && s % size === 0) return `${s / size}${unit}`;
  return `${s}s`;
}

function scheduleView(d: ScheduleDescription) {
  const action = d.action;
  const rollout = (action.args?.[0] as { rollout?: Rollout } | undefined)?.rollout;
  return {
    scheduleId: d.scheduleId,
    paused: d.state.paused,
    note: d.state.note,
    spec: specText(d.spec),
    timezone: d.spec.timezone,
    overlap: overlapName(d.policies.overlap),
    catchupWindowSeconds: d.policies.catchupWindow / 1000,
    workflowType: action.workflowType,
    workflowIdPrefix: action.workflowId,
    taskQueue: action.taskQueue,
    rollout: rollout ? { name: rollout.name, file: rollout.file, models: rollout.entries.length, waveSize: rollout.waveSize } : undefined,
    nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
    recentRuns: d.info.recentActions.map((r) => ({ scheduledAt: r.scheduledAt.toISOString(), workflowId: r.action.workflow.workflowId })),
    runningWorkflowIds: d.info.runningActions.map((r) => r.workflow.workflowId),
    actionsTaken: d.info.numActionsTaken,
    skippedByOverlap: d.info.numActionsSkippedOverlap,
  };
}
