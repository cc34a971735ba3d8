import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { parseArgs } from 'node:util';
import { H } from '../../layer2/sip/headers.js';
import { headerValues, type SipResponse } from '../../layer2/sip/message.js';
import { parseSipMessage } from '../../layer2/sip/parser.js';
import { parseSipUri } from '../../layer2/sip/uri.js';
import { splitList } from '../../layer2/sip/values.js';

/**
 * The drill's prober: a new call every `interval` ms, each from its own socket (so layer 1 spreads
 * them like real clients), without retransmission (a lost datagram is a failed probe: the gaps
 * stay sharp). A call is a success when its INVITE gets a 200; it is then ACKed and ended. One JSON
 * line per probe on stdout:
 *   {"seq":1,"sentAt":…,"doneAt":…,"ok":true,"status":200,"connector":"10.99.11.21:25060","backend":"10.99.11.31:5090","byeOk":true}
 * `connector` is the connector's own Record-Route entry, `backend` the answering MCU's Contact.
 */
export interface ProbeResult {
  seq: number;
  sentAt: number;
  doneAt: number;
  ok: boolean;
  status: number;
  connector: string | null;
  backend: string | null;
  byeOk: boolean | null;
  error?: string;
}

const rand = (): string => randomBytes(6).toString('hex');

function hostPort(uriText: string): string | null {
  try {
    const inner = uriText.includes('<') ? uriText.slice(uriText.indexOf('<') + 1, uriText.indexOf('>')) : uriText;
    const u = parseSipUri(inner.trim());
    return `${u.host}:${u.port || 5060}`;
  } catch {
    return null;
  }
}

/** The connector's backend-facing Record-Route entry carries the flow token (vcf=). */
function connectorOf(res: SipResponse): string | null {
  for (const v of headerValues(res, H.RecordRoute).flatMap((x) => splitList(x))) if (v.includes('vcf=')) return hostPort(v);
  return null;
}

export class Prober {
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #open = new Set<Socket>();

  constructor(
    private readonly o: { target: string; port: number; bind: string; intervalMs: number; timeoutMs: number },
    private readonly emit: (r: ProbeResult) => void,
  ) {}

  start(): void {
    this.#timer = setInterval(() => this.#probe(), this.o.intervalMs);
  }

  /** Stop sending; resolves when every probe in flight has finished. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    while (this.#open.size > 0) await new Promise((r) => setTimeout(r, 20));
  }

  #probe(): void {
    const seq = ++this.#seq;
    const sock = createSocket('udp4');
    this.#open.add(sock);
    const callId = `${rand()}@vcp-prober`;
    const fromTag = rand();
    const branchOf = rand();
    const { target, port, bind } = this.o;
    let result: ProbeResult | undefined;
    let toTag = '';
    let finished = false;
    const finish = (r: Partial<ProbeResult>): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      this.emit({ ...(result ?? { seq, sentAt, ok: false, status: 0, connector: null, backend: null, byeOk: null }), ...r, doneAt: Date.now() } as ProbeResult);
      sock.close();
      this.#open.delete(sock);
    };
    const send = (text: string): void => sock.send(Buffer.from(text), port, target);
    const sentAt = Date.now();
    const timer = setTimeout(() => finish(result ? { byeOk: false } : { error: 'timeout' }), this.o.timeoutMs);
    sock.on('error', (err) => finish({ error: err.message }));
    sock.on('message', (buf) => {
      let m;
      try {
        m = parseSipMessage(buf, true);
      } catch {
        return;
      }
      if (m.kind !== 'response' || m.callId !== callId) return;
      if (m.status < 200) return;
      if (m.cseqMethod === 'INVITE' && !result) {
        toTag = m.to.params.get('tag') ?? '';
        const local = sock.address();
        if (m.status >= 300) {
          send(request('ACK', 1, local.port, `z9hG4bK${branchOf}`));
          result = { seq, sentAt, doneAt: 0, ok: false, status: m.status, connector: connectorOf(m), backend: null, byeOk: null };
          finish({});
          return;
        }
        result = { seq, sentAt, doneAt: 0, ok: true, status: m.status, connector: connectorOf(m), backend: hostPort(headerValues(m, H.Contact)[0] ?? ''), byeOk: null };
        send(request('ACK', 1, local.port, `z9hG4bK${rand()}`));
        send(request('BYE', 2, local.port, `z9hG4bK${rand()}`));
        return;
      }
      if (m.cseqMethod === 'BYE' && result) finish({ byeOk: m.status < 300 });
    });
    const sdp = `v=0\r\no=prober ${seq} 1 IN IP4 ${bind}\r\ns=-\r\nc=IN IP4 ${bind}\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n`;
    const request = (method: string, cseq: number, localPort: number, branch: string): string => {
      const body = method === 'INVITE' ? sdp : '';
      return [
        `${method} sip:probe@${target}:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${bind}:${localPort};branch=${branch};rport`,
        'Max-Forwards: 70',
        `From: <sip:prober@${bind}>;tag=${fromTag}`,
        `To: <sip:probe@${target}>${toTag && method !== 'INVITE' ? `;tag=${toTag}` : ''}`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} ${method}`,
        `Contact: <sip:prober@${bind}:${localPort}>`,
        'User-Agent: vcproxy-prober',
        ...(body ? ['Content-Type: application/sdp'] : []),
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n');
    };
    sock.bind(0, bind, () => send(request('INVITE', 1, sock.address().port, `z9hG4bK${branchOf}`)));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      port: { type: 'string', default: '5060' },
      bind: { type: 'string', default: '0.0.0.0' },
      interval: { type: 'string', default: '50' },
      timeout: { type: 'string', default: '1000' },
      summary: { type: 'boolean' },
    },
  });
  if (!values.target) {
    process.stderr.write('usage: prober --target ADDRESS [--port 5060] [--bind ADDRESS] [--interval MS] [--timeout MS] [--summary]\n');
    process.exit(2);
  }
  process.stdout.on('error', () => process.exit(0));
  let lastOk = 0;
  let failing = 0;
  const prober = new Prober(
    { target: values.target, port: Number(values.port), bind: values.bind!, intervalMs: Number(values.interval), timeoutMs: Number(values.timeout) },
    (r) => {
      if (!values.summary) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      // For people: one line per outage, with its length.
      if (!r.ok) failing++;
      else {
        if (failing > 0 && lastOk > 0) process.stdout.write(`${new Date().toISOString()} outage: ${failing} probes failed, gap ${r.doneAt - lastOk} ms, now via ${r.connector} → ${r.backend}\n`);
        failing = 0;
        lastOk = r.doneAt;
      }
    },
  );
  prober.start();
  const stop = (): void => void prober.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
