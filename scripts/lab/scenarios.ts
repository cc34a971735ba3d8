import { existsSync, readFileSync } from 'node:fs';
import { sleep, waitUntil } from './exec.js';
import { connectorNames, connectorsFromLogs, failedBetween, losses as countLosses, outage, type Losses, type Outage } from './figures.js';
import type { Lab } from './lab.js';
import { connectorReady, holder, killMember, layer1Ready, popCut, popRestore, restoreMember, startConnector, startLayer1, vrrpStates } from './pop.js';
import type { ProbeResult } from './prober.js';
import { runSipp, type SippRun } from './sipp.js';

/** One measured scenario: what happened, the figures, and whether the targets were met. */
export interface Figure {
  round: number;
  scenario: string;
  what: string;
  recoveryMs: number | null;
  gapMs: number | null;
  failedProbes: number;
  /** See Outage.proberStallMs: a figure measured while the prober stalled is disturbed. */
  proberStallMs: number;
  /** Extra timings of the mechanism (VRRP master, router route...), ms after the fault. */
  detail: Record<string, number | string | null>;
  calls: Losses | undefined;
  targets: string[];
  missed: string[];
  /** Measured while the prober stalled; repeated, and not counted against the targets. */
  disturbed?: boolean;
}

export interface Traffic {
  rate: number;
  holdMs: number;
  /** Calls start this long before the fault and run this long after it. */
  leadMs: number;
  tailMs: number;
}

/** Losses of a sipp run, each lost call placed by its Record-Route or, failing that, by the connectors' logs. */
function losses(lab: Lab, calls: SippRun['calls'], failed: ReadonlySet<string>): Losses {
  const lines = lab.config.connectors.flatMap((c) => {
    const file = lab.run.log(`${c.pop}.${c.name}`);
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n') : [];
  });
  return countLosses(calls, connectorNames(lab.config), failed, connectorsFromLogs(lines));
}

/** A VRRP transition of a node to MASTER after `after`, from the notify log: its time in ms. */
function masterAt(lab: Lab, node: string, after: number): number | null {
  const file = lab.run.log(`${node}.vrrp`);
  if (!existsSync(file)) return null;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    try {
      const e = JSON.parse(line) as { ms: number; state: string };
      if (e.state === 'MASTER' && e.ms >= after) return e.ms;
    } catch {
      // partial line
    }
  }
  return null;
}

/** Start calls, wait the lead time, run the fault, wait for recovery, collect everything. */
/**
 * `fault` may return when it took effect (a link down, an uplink silent) if it goes on with more
 * (killing processes behind it): probes sent from then on count towards recovery.
 */
async function withTraffic(lab: Lab, name: string, t: Traffic, fault: () => number | void, recovered: (faultAt: number) => boolean | Promise<boolean>, via?: (p: ProbeResult) => boolean, timeoutMs = 30_000): Promise<{ faultAt: number; sipp: SippRun; out: Outage; recovered: boolean }> {
  const calls = Math.max(1, Math.round((t.rate * (t.leadMs + t.tailMs)) / 1000));
  const sipp = runSipp(lab.run, name, { ns: lab.layout.clientNs, target: lab.config.wellKnown.address, bind: '10.99.1.2', calls, rate: t.rate, holdMs: t.holdMs, recvTimeoutMs: 6000 });
  await sleep(t.leadMs);
  // The fault is the moment it took effect: a fault that runs a command (a link down, an uplink
  // cut) says when that command had done it; a signal takes effect as it is sent.
  const before = Date.now();
  const tookEffect = fault();
  const faultAt = tookEffect || before;
  const effectiveAt = tookEffect || Date.now();
  let ok = true;
  try {
    await waitUntil(`recovery after ${name}`, () => recovered(effectiveAt), timeoutMs, 20);
  } catch {
    ok = false;
  }
  const done = await sipp;
  await lab.probesSettled(Date.now());
  return { faultAt, sipp: done, out: outage(lab.probes, faultAt, via, effectiveAt), recovered: ok };
}

/** Layer 1 on `node` logged a worker of `connector` up after `since`. */
function memberUpSince(lab: Lab, node: string, connector: string, since: number): boolean {
  return lab.run.linesSince(`${node}.layer1`).some((line) => {
    try {
      const e = JSON.parse(line) as { msg?: string; member?: string; time?: string };
      return e.msg === 'member up' && e.member?.startsWith(`${connector}/`) === true && Date.parse(e.time ?? '') >= since;
    } catch {
      return false;
    }
  });
}

const answeredBy = (lab: Lab, pop: string) => (p: ProbeResult): boolean => lab.config.servers.some((s) => s.pop === pop && p.backend === `${s.address}:${s.sipPort}`);
const probeOkAfter = (lab: Lab, t: number, pop?: string): boolean => lab.probes.some((p) => p.ok && p.sentAt >= t && (!pop || answeredBy(lab, pop)(p)));

/**
 * The recovery target: new calls succeed within 1 s of the fault; without `lab.timed` (the test
 * suite, on a machine of unknown load) only that they succeed again, the time being a figure.
 */
function backInTime(lab: Lab, r: { recovered: boolean; out: Outage }, via = ''): [string, boolean] {
  const back = r.recovered && r.out.recoveryMs !== null;
  return lab.timed ? [`new calls succeed < 1 s${via}`, back && r.out.recoveryMs! < 1000] : [`new calls succeed again${via}`, back];
}

function figure(round: number, scenario: string, what: string, o: Outage, detail: Figure['detail'], calls: Losses | undefined, checks: Array<[string, boolean]>): Figure {
  return {
    round,
    scenario,
    what,
    recoveryMs: o.recoveryMs,
    gapMs: o.gapMs,
    failedProbes: o.failedProbes,
    proberStallMs: o.proberStallMs,
    detail,
    calls,
    targets: checks.map(([n]) => n),
    missed: checks.filter(([, ok]) => !ok).map(([n]) => n),
  };
}

/** The VRRP master of the carrying POP dies (link down, processes killed); its peer takes the address. */
export async function pairTakeover(lab: Lab, round: number, t: Traffic): Promise<Figure> {
  const h = lab.host(lab.policy.primary);
  const victim = holder(h);
  if (!victim) throw new Error(`POP ${h.pl.pop} has no VRRP master`);
  const peer = h.pl.members.find((m) => m !== victim)!;
  const r = await withTraffic(lab, `r${round}-pair`, t, () => killMember(h, victim), (f) => holder(h) === peer && probeOkAfter(lab, f));
  const master = masterAt(lab, peer.node, r.faultAt);
  const calls = losses(lab, r.sipp.calls, new Set());
  const back = Date.now();
  await restoreMember(h, victim);
  // The node is back as BACKUP: watch 20 more probes (1 s) for a second blip.
  const backAt = Date.now();
  await waitUntil('20 probes after the node returned', () => lab.probes.filter((p) => p.sentAt >= backAt).length >= 20, 15_000, 20);
  await lab.probesSettled(Date.now());
  const blip = failedBetween(lab.probes, back, Date.now());
  const still = holder(h) === peer;
  return figure(round, 'pair takeover', `layer-1 node ${victim.node} of POP ${h.pl.pop} killed (link down, processes killed); ${peer.node} takes over`, r.out, { vrrpMasterMs: master === null ? null : master - r.faultAt, returnBlipProbes: blip, stayedOn: still ? peer.node : victim.node }, calls, [
    backInTime(lab, r),
    ['0 calls lost on surviving nodes', calls.lostOnSurvivors === 0],
    ['no second blip when the node returns (nopreempt)', blip === 0 && still],
  ]);
}

/** Only the layer-1 process of the master dies: keepalived's process tracking faults the instance. */
export async function layer1Process(lab: Lab, round: number, t: Traffic): Promise<Figure> {
  const h = lab.host(lab.policy.primary);
  const victim = holder(h);
  if (!victim) throw new Error(`POP ${h.pl.pop} has no VRRP master`);
  const peer = h.pl.members.find((m) => m !== victim)!;
  const r = await withTraffic(lab, `r${round}-l1proc`, t, () => { lab.run.kill(`${victim.node}.layer1`); }, (f) => holder(h) === peer && probeOkAfter(lab, f));
  const master = masterAt(lab, peer.node, r.faultAt);
  const calls = losses(lab, r.sipp.calls, new Set());
  await lab.run.stop(`${victim.node}.layer1`, 'SIGKILL', 1000);
  startLayer1(h, victim);
  await layer1Ready(h, victim, 30_000);
  // keepalived sees the process again and leaves FAULT for BACKUP.
  await waitUntil(`${victim.node} back in BACKUP`, () => vrrpStates(h, victim).at(-1)?.state === 'BACKUP', 30_000, 25);
  return figure(round, 'layer-1 process', `layer-1 process of ${victim.node} (POP ${h.pl.pop}) killed, keepalived alive`, r.out, { vrrpMasterMs: master === null ? null : master - r.faultAt }, calls, [
    backInTime(lab, r),
    ['0 calls lost on surviving nodes', calls.lostOnSurvivors === 0],
  ]);
}

/** One connector of the carrying POP is killed: only the calls it held may be lost. */
export async function connectorKill(lab: Lab, round: number, t: Traffic): Promise<Figure> {
  const h = lab.host(lab.policy.primary);
  const victim = h.pl.connectors[0]!;
  const names = connectorNames(lab.config);
  const r = await withTraffic(
    lab,
    `r${round}-connector`,
    t,
    () => { lab.run.kill(`${h.pl.pop}.${victim}`); },
    (f) => lab.probes.some((p) => p.ok && p.sentAt >= f + 300 && names.get(p.connector ?? '') !== victim),
  );
  const calls = losses(lab, r.sipp.calls, new Set([victim]));
  const restartAt = Date.now();
  startConnector(h, victim);
  await connectorReady(h, victim, 30_000);
  // Both layer-1 members probe it and count it up again.
  await waitUntil(`layer 1 to see ${victim} up again`, () => h.pl.members.every((m) => memberUpSince(lab, m.node, victim, restartAt)), 30_000, 25);
  return figure(round, 'connector', `connector ${victim} of POP ${h.pl.pop} killed (supervisor and worker)`, r.out, { killed: victim }, calls, [['0 calls lost on surviving nodes', calls.lostOnSurvivors === 0]]);
}

/** Disaster: the carrying POP goes at once; the address must answer from the other POP. */
export async function popMove(lab: Lab, round: number, t: Traffic): Promise<Figure> {
  const from = lab.policy.primary;
  const to = lab.layout.pops.find((p) => p.pop !== from)!.pop;
  const r = await withTraffic(lab, `r${round}-popmove`, t, () => popCut(lab.host(from)), (f) => lab.carrierPop() === to && probeOkAfter(lab, f, to), answeredBy(lab, to));
  const routeMovedAt = lab.routeMovedAt(to, r.faultAt);
  const popConnectors = new Set(lab.config.connectors.filter((c) => c.pop === from).map((c) => c.name));
  const calls = losses(lab, r.sipp.calls, popConnectors);
  return figure(round, 'POP move', `all of POP ${from} goes (uplink silent, every process killed); POP ${to} answers`, r.out, { routerMovedMs: routeMovedAt === null ? null : routeMovedAt - r.faultAt, anycast: lab.policy.anycast ? 'on' : 'off' }, calls, [
    backInTime(lab, r, ' via the other POP'),
    ['0 calls lost on surviving nodes', calls.lostOnSurvivors === 0],
  ]);
}

/** The lost POP returns; the address goes back by the configured policy. */
export async function failback(lab: Lab, round: number, t: Traffic): Promise<Figure> {
  const back = lab.policy.primary;
  const other = lab.layout.pops.find((p) => p.pop !== back)!.pop;
  const calls = Math.round((t.rate * (t.leadMs + t.tailMs + 8000)) / 1000);
  const sipp = runSipp(lab.run, `r${round}-failback`, { ns: lab.layout.clientNs, target: lab.config.wellKnown.address, bind: '10.99.1.2', calls, rate: t.rate, holdMs: t.holdMs, recvTimeoutMs: 6000 });
  await sleep(t.leadMs);
  const startAt = Date.now();
  await popRestore(lab.host(back));
  const readyAt = Date.now();
  const detail: Figure['detail'] = { policy: `failback ${lab.policy.failback}, anycast ${lab.policy.anycast ? 'on' : 'off'}`, restartMs: readyAt - startAt };
  const checks: Array<[string, boolean]> = [];
  let movedAt: number | null = null;
  const watchMove = async (ms: number, since: number): Promise<boolean> => {
    try {
      await waitUntil(`the router to send the address to POP ${back}`, () => lab.carrierPop() === back, ms, 20);
      movedAt = lab.routeMovedAt(back, since - 1) ?? Date.now();
      return true;
    } catch {
      return false;
    }
  };
  if (lab.policy.failback === 'automatic') {
    const moved = await watchMove(15_000, startAt);
    detail.movedAfterRestartMs = movedAt === null ? null : movedAt - startAt;
    checks.push([`POP ${back} takes the address back by itself`, moved]);
  } else {
    const early = await watchMove(5000, startAt);
    checks.push([`POP ${back} waits for the operator (5 s observed)`, !early && lab.carrierPop() === other]);
    const t0 = Date.now();
    const cmd = lab.ipTakeover(back, ['takeover']);
    detail.takeoverExit = cmd.code;
    const moved = cmd.code === 0 && (await watchMove(10_000, t0));
    detail.movedAfterTakeoverMs = movedAt === null ? null : movedAt - t0;
    checks.push([`ip-takeover takeover on POP ${back} moves it back`, moved]);
  }
  const done = await sipp;
  await lab.probesSettled(Date.now());
  const from = movedAt ?? readyAt;
  const o: Outage = { ...outage(lab.probes, from), recoveryMs: null };
  // The calls in progress at the POP that gives the address back are cut by the route change.
  const res = losses(lab, done.calls, new Set(lab.config.connectors.filter((c) => c.pop === other).map((c) => c.name)));
  detail.probesFailedAroundMove = failedBetween(lab.probes, from - 2000, from + 2000);
  detail.callsCutByRouteChange = res.lost;
  // Calls POP `other` had answered before the move and ended well there afterwards.
  const names = connectorNames(lab.config);
  const otherConnectors = new Set(lab.config.connectors.filter((c) => c.pop === other).map((c) => c.name));
  detail.callsKeptOnOldPop = done.calls.filter((c) => c.completed && c.invitedAt < from && otherConnectors.has(names.get(c.connector ?? '') ?? '')).length;
  checks.push([`0 calls lost at POP ${back}`, res.lostOnSurvivors === 0]);
  if (res.lost > 0) {
    // What a lost call went through, relative to the route move, and what the router's per-POP
    // tables did meanwhile: a pinned flow follows its POP's table, and only a gap there moves it.
    detail.lostCalls = done.calls
      .filter((c) => !c.completed)
      .slice(0, 15)
      .map((c) => `${names.get(c.connector ?? '') ?? 'no connector'}: INVITE at ${c.invitedAt - from} ms → ${c.inviteStatus || 'none'}, BYE → ${c.byeStatus || 'none'}`)
      .join('; ');
    detail.pinTableChanges = lab.routeLines(startAt, true).slice(0, 20).join(' | ');
  }
  if (lab.pin) {
    // Flows are pinned at the router: the move takes new calls only.
    checks.push([`no call in progress at POP ${other} cut (flows pinned)`, res.lostOnFailed === 0]);
    checks.push([`new calls go to POP ${back}`, movedAt !== null && lab.probes.some((p) => p.ok && p.sentAt >= from && answeredBy(lab, back)(p))]);
  }
  return figure(round, 'failback', `POP ${back} returns; policy: failback ${lab.policy.failback}`, o, detail, res, checks);
}
