import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import type { ServerConfig } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { ProfileStore } from '../profiles/store.js';
import { SipStreamFramer } from '../sip/framer.js';
import { parseSipMessage } from '../sip/parser.js';
import { formatHostPort } from '../sip/uri.js';
import type { HealthEntry } from '../learn/live.js';
import { newBranch, newCallIdPart, newTag } from '../sip/ids.js';

interface State {
  up: boolean;
  fails: number;
  oks: number;
}

/**
 * Health of the cluster the router sends calls to (the servers of this POP): every interval each
 * server gets a SIP OPTIONS (any response counts: the server is alive) or a TCP connect; down after
 * `fall` failures in a row, up again after `rise` successes. Results go to the host-local part of the
 * profile store, where every worker's live view reads them. The OPTIONS carry CSPRNG identifiers,
 * and a response counts only from the server it was sent to.
 */
export class ServerProber {
  readonly #servers: ServerConfig[];
  readonly #store: ProfileStore;
  readonly #log: Logger;
  readonly #o: { intervalMs: number; timeoutMs: number; fall: number; rise: number; localAddress: string };
  readonly #state = new Map<string, State>();
  readonly #waiting = new Map<string, { from: string; done: (ok: boolean) => void }>();
  #udp: UdpSocket | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #tag = newTag();

  constructor(servers: readonly ServerConfig[], store: ProfileStore, log: Logger, o: { intervalMs: number; timeoutMs: number; fall: number; rise: number; localAddress: string }) {
    this.#servers = servers.filter((s) => s.probe !== 'none');
    this.#store = store;
    this.#log = log;
    this.#o = o;
  }

  async start(): Promise<void> {
    if (this.#servers.length === 0) return;
    this.#udp = await new Promise<UdpSocket>((resolve, reject) => {
      const s = createSocket(this.#o.localAddress.includes(':') ? 'udp6' : 'udp4');
      s.once('error', reject);
      s.bind(0, this.#o.localAddress, () => {
        s.removeAllListeners('error');
        s.on('error', () => undefined);
        resolve(s);
      });
    });
    this.#udp.on('message', (m, rinfo) => this.#onUdp(m, `${rinfo.address}:${rinfo.port}`));
    // A health entry that could not be written (counted by the store) is written again next round.
    const round = (): void => void this.round().catch(() => undefined);
    round();
    this.#timer = setInterval(round, this.#o.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#udp?.close();
    for (const w of this.#waiting.values()) w.done(false);
  }

  /** Probe every server once. */
  async round(): Promise<void> {
    await Promise.all(this.#servers.map((s) => this.#probe(s)));
  }

  async #probe(s: ServerConfig): Promise<void> {
    const t0 = Date.now();
    const ok = s.probe === 'tcp' || s.sipPort === 0 ? await this.#tcp(s.address, s.h323Port || s.sipPort) : s.sipTransport === 'tcp' ? await this.#optionsTcp(s) : await this.#optionsUdp(s);
    const st = this.#state.get(s.name) ?? { up: true, fails: 0, oks: 0 };
    if (ok) {
      st.oks++;
      st.fails = 0;
      if (!st.up && st.oks >= this.#o.rise) {
        st.up = true;
        this.#log.info({ server: s.name }, 'server up');
      }
    } else {
      st.fails++;
      st.oks = 0;
      if (st.up && st.fails >= this.#o.fall) {
        st.up = false;
        this.#log.warn({ server: s.name, address: formatHostPort(s.address, s.sipPort || s.h323Port) }, 'server down: no answer to the health probe');
      }
    }
    this.#state.set(s.name, st);
    const entry: HealthEntry = { up: st.up, at: Date.now(), rttMs: ok ? Date.now() - t0 : -1, detail: ok ? 'answered' : `${st.fails} probe(s) unanswered` };
    await this.#store.putLocal(`health/${s.name}`, { ...entry });
  }

  #tcp(address: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const sock = connect({ host: address, port, localAddress: this.#o.localAddress });
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        sock.destroy();
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), this.#o.timeoutMs);
      sock.once('connect', () => done(true));
      sock.once('error', () => done(false));
    });
  }

  #request(s: ServerConfig, transport: 'UDP' | 'TCP', localPort: number): { callId: string; bytes: Buffer } {
    const callId = `probe-${newCallIdPart()}`;
    const local = formatHostPort(this.#o.localAddress, localPort);
    const text =
      `OPTIONS sip:${formatHostPort(s.address, s.sipPort)} SIP/2.0\r\n` +
      `Via: SIP/2.0/${transport} ${local};branch=${newBranch()}\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:probe@${local}>;tag=${this.#tag}\r\nTo: <sip:${formatHostPort(s.address, s.sipPort)}>\r\n` +
      `Call-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nUser-Agent: vcproxy-health\r\nContent-Length: 0\r\n\r\n`;
    return { callId, bytes: Buffer.from(text) };
  }

  #optionsUdp(s: ServerConfig): Promise<boolean> {
    const udp = this.#udp;
    if (!udp) return Promise.resolve(false);
    const { callId, bytes } = this.#request(s, 'UDP', udp.address().port);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), this.#o.timeoutMs);
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        this.#waiting.delete(callId);
        resolve(ok);
      };
      this.#waiting.set(callId, { from: `${s.address}:${s.sipPort}`, done: finish });
      udp.send(bytes, s.sipPort, s.address);
    });
  }

  #onUdp(m: Buffer, from: string): void {
    try {
      const msg = parseSipMessage(m, true);
      const w = msg.kind === 'response' ? this.#waiting.get(msg.callId) : undefined;
      if (w && w.from === from) w.done(true);
    } catch {
      // not a SIP response: ignored
    }
  }

  #optionsTcp(s: ServerConfig): Promise<boolean> {
    return new Promise((resolve) => {
      const sock = connect({ host: s.address, port: s.sipPort, localAddress: this.#o.localAddress });
      const framer = new SipStreamFramer(65536);
      let callId = '';
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        sock.destroy();
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), this.#o.timeoutMs);
      sock.once('connect', () => {
        const r = this.#request(s, 'TCP', sock.localPort ?? 0);
        callId = r.callId;
        sock.write(r.bytes);
      });
      sock.on('data', (chunk: Buffer) => {
        framer.push(chunk);
        try {
          for (let item = framer.next(); item; item = framer.next()) {
            if (item.kind !== 'message') continue;
            const msg = parseSipMessage(item.bytes, false);
            if (msg.kind === 'response' && msg.callId === callId) return done(true);
          }
        } catch {
          done(false);
        }
      });
      sock.once('error', () => done(false));
      sock.once('close', () => done(false));
    });
  }
}
