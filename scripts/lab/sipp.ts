import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { H } from '../../layer2/sip/headers.js';
import { headerValues } from '../../layer2/sip/message.js';
import { parseSipMessage } from '../../layer2/sip/parser.js';
import { splitList } from '../../layer2/sip/values.js';
import { inNs, type RunDir } from './exec.js';

/** One call of a sipp run, read back from its message log. */
export interface CallRecord {
  callId: string;
  invitedAt: number;
  /** Final status of the INVITE (0: none). */
  inviteStatus: number;
  /** Final status of the BYE (0: none). */
  byeStatus: number;
  /** host:port of the connector that proxied it (its Record-Route entry with the flow token). */
  connector: string | null;
  completed: boolean;
}

export interface SippRun {
  code: number | null;
  calls: CallRecord[];
  successful: number;
  failed: number;
}

/**
 * sipp's -trace_msg log: blocks that start with a dashed line and its timestamp, then "UDP message
 * sent|received", then the message itself. Each message goes through our own parser.
 */
export function parseSippMessages(text: string): CallRecord[] {
  const calls = new Map<string, CallRecord>();
  const blocks = text.split(/^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\n/m);
  for (let i = 1; i + 1 < blocks.length; i += 2) {
    const at = Date.parse(blocks[i]!.replace(' ', 'T'));
    const body = blocks[i + 1]!;
    const nl = body.indexOf('\n\n');
    if (nl < 0) continue;
    const sent = body.startsWith('UDP message sent') || body.startsWith('TCP message sent');
    const raw = body.slice(nl + 2).replace(/\n+$/, '\n').replace(/\r?\n/g, '\r\n');
    let m;
    try {
      m = parseSipMessage(Buffer.from(raw), true);
    } catch {
      continue;
    }
    let c = calls.get(m.callId);
    if (!c) {
      c = { callId: m.callId, invitedAt: at, inviteStatus: 0, byeStatus: 0, connector: null, completed: false };
      calls.set(m.callId, c);
    }
    if (sent || m.kind !== 'response' || m.status < 200) continue;
    if (m.cseqMethod === 'INVITE' && c.inviteStatus === 0) {
      c.inviteStatus = m.status;
      const rr = headerValues(m, H.RecordRoute).flatMap((v) => splitList(v)).find((v) => v.includes('vcf='));
      const hp = rr ? /sip:([^;>]+)/.exec(rr)?.[1] : undefined;
      c.connector = hp ?? null;
    }
    if (m.cseqMethod === 'BYE' && c.byeStatus === 0) {
      c.byeStatus = m.status;
      c.completed = m.status < 300 && c.inviteStatus >= 200 && c.inviteStatus < 300;
    }
  }
  return [...calls.values()];
}

function readStats(file: string): { successful: number; failed: number } {
  if (!existsSync(file)) return { successful: 0, failed: 0 };
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const head = lines[0]!.split(';');
  const last = lines[lines.length - 1]!.split(';');
  const col = (name: string): number => Number(last[head.indexOf(name)] ?? NaN);
  return { successful: col('SuccessfulCall(C)'), failed: col('FailedCall(C)') };
}

/**
 * sipp's built-in UAC against the well-known address from the client namespace: `calls` calls at
 * `rate` per second, each held `holdMs`, one socket per call (-t un, so layer 1 spreads them), a
 * call given up after `recvTimeoutMs` without the answer it waits for.
 */
export function runSipp(run: RunDir, name: string, o: { ns: string | undefined; target: string; bind: string; calls: number; rate: number; holdMs: number; recvTimeoutMs: number }): Promise<SippRun> {
  const msg = run.file('sipp', `${name}-messages.log`);
  const stat = run.file('sipp', `${name}-stat.csv`);
  const args = [
    '-sn', 'uac', `${o.target}:5060`,
    '-i', o.bind, '-t', 'un', '-max_socket', '2000',
    '-m', String(o.calls), '-r', String(o.rate), '-d', String(o.holdMs), '-l', String(o.calls),
    '-recv_timeout', String(o.recvTimeoutMs),
    '-nostdin', '-trace_msg', '-message_file', msg, '-trace_stat', '-stf', stat, '-fd', '1',
    '-timeout', `${Math.ceil((o.calls / o.rate) + (o.holdMs + o.recvTimeoutMs * 3) / 1000 + 10)}s`,
  ];
  const [cmd, argv] = inNs(o.ns, 'sipp', args);
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: run.dir('sipp'), stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('exit', (code) => {
      const calls = existsSync(msg) ? parseSippMessages(readFileSync(msg, 'utf8')) : [];
      resolve({ code, calls, ...readStats(stat) });
    });
  });
}
