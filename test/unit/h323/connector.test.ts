import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { parseConfig, defaultConfigPath } from '../../../shared/config/load.js';
import { ConfigError } from '../../../shared/errors.js';
import { buildReleaseComplete, buildReleaseFor, buildSetup, setupOf } from '../../../layer2/h323/builder.js';
import { dialledDigits, emailId, h323Id, transportAddress, transportToString, urlId, type FacilityUUIE } from '../../../layer2/h323/h225.js';
import { decodeH323, encodeH323 } from '../../../layer2/h323/message.js';
import { decodeQ931, MsgType } from '../../../layer2/h323/q931.js';
import { RegistrationTable, aliasKey, type Registration } from '../../../layer2/h323/registrations.js';
import { aliasDomain, causeOf, facilityForCaller, isResourceRelease, meetingOf, peekHeader, setupForServer } from '../../../layer2/h323/rewrite.js';
import { summarizeCall } from '../../../layer2/h323/summary.js';
import { IDENTITIES, OLC } from '../../helpers/h323-vectors.js';

/** The connector's pure parts: what it rewrites and reads in messages, the registration table, its configuration. */

t.test('setupForServer: destCallSignalAddress set, every other octet as it was, the message left untouched', async (t) => {
  const setup = buildSetup({ callReference: 3, identity: IDENTITIES.tandberg, destinationAliases: [dialledDigits('8001')], fastStart: [OLC], destCallSignalAddress: transportAddress('192.0.2.1', 1720) });
  const before = encodeH323(setup);
  const out = decodeH323(setupForServer(setup, '198.51.100.9', 11720));
  t.equal(transportToString(setupOf(out)!.destCallSignalAddress), '198.51.100.9:11720');
  t.same(encodeH323(setup), before, 'the decoded Setup is restored for the next attempt');
  setupOf(out)!.destCallSignalAddress = transportAddress('192.0.2.1', 1720);
  t.same(encodeH323(out), before, 'nothing else changed');
  const bare = buildSetup({ callReference: 4 });
  setupForServer(bare, '198.51.100.9', 1720);
  t.equal(setupOf(bare)!.destCallSignalAddress, undefined, 'an absent field stays absent in the original');
});

t.test('facilityForCaller: an alternativeAddress becomes ours; other Facilities go as they came', async (t) => {
  const setup = buildSetup({ callReference: 5 });
  const fwd = buildReleaseFor(setup);
  fwd.q931 = { ...fwd.q931, type: MsgType.Facility, ies: [] };
  const f: FacilityUUIE = { protocolIdentifier: '0.0.8.2250.0.4', alternativeAddress: transportAddress('10.0.0.9', 1720), alternativeAliasAddress: [h323Id('mcu-2')], reason: { choice: 'routeCallToMC', value: null } };
  fwd.uu = { 'h323-uu-pdu': { 'h323-message-body': { choice: 'facility', value: f } } };
  const out = facilityForCaller(decodeH323(encodeH323(fwd)), { address: '192.0.2.50', port: 1720 });
  t.match(summarizeCall(decodeH323(out!)), { alternativeAddress: '192.0.2.50:1720', alternativeAliases: [{ type: 'h323-ID', value: 'mcu-2' }], facilityReason: 'routeCallToMC' });
  delete f.alternativeAddress;
  t.equal(facilityForCaller(decodeH323(encodeH323(fwd)), { address: '192.0.2.50', port: 1720 }), undefined);
  t.equal(facilityForCaller(setup, { address: '192.0.2.50', port: 1720 }), undefined, 'not a Facility');
});

t.test('resource releases move a call on; others do not', async (t) => {
  const setup = buildSetup({ callReference: 6 });
  for (const cause of [34, 38, 41, 42, 44, 47]) t.ok(isResourceRelease(buildReleaseFor(setup, undefined, cause)), `cause ${cause}`);
  for (const reason of ['noBandwidth', 'gatekeeperResources', 'gatewayResources', 'adaptiveBusy']) t.ok(isResourceRelease(buildReleaseFor(setup, reason, 16)), reason);
  t.notOk(isResourceRelease(buildReleaseFor(setup, 'destinationRejection', 21)), 'rejected: the server answered');
  t.notOk(isResourceRelease(buildReleaseFor(setup, undefined, 17)), 'user busy');
  const noCause = buildReleaseComplete({ callReference: 6, fromDestination: true });
  noCause.q931.ies = [];
  t.equal(causeOf(noCause), undefined);
  noCause.q931.ies = [{ id: 0x08, data: Buffer.alloc(0) }];
  t.equal(causeOf(noCause), undefined, 'an unreadable cause is no cause');
});

t.test('peekHeader reads call reference and type of any message with a readable header, and never throws', async (t) => {
  t.same(peekHeader(Buffer.from('0802812a05', 'hex')), { crv: 0x12a, fromDestination: true, type: 5 });
  t.same(peekHeader(Buffer.from('08010305', 'hex')), { crv: 3, fromDestination: false, type: 5 });
  t.same(peekHeader(Buffer.from('08005a', 'hex')), { crv: 0, fromDestination: false, type: 0x5a });
  for (const bad of ['', '08', '0802', '080300000005', '090100', '08020001']) t.equal(peekHeader(Buffer.from(bad, 'hex')), undefined, bad || 'empty');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (a) => {
      const b = Buffer.from(a);
      const h = peekHeader(b);
      let q;
      try {
        q = decodeQ931(b);
      } catch {
        return true;
      }
      return h !== undefined && h.crv === q.callReference && h.fromDestination === q.fromDestination && h.type === q.type;
    }),
    { numRuns: 3000 },
  );
});

t.test('what identification reads from aliases: the domain and the meeting', async (t) => {
  t.equal(aliasDomain([h323Id('Room'), emailId('room7@Example.COM')]), 'example.com');
  t.equal(aliasDomain([urlId('h323:room7@video.example.org;transport=tcp')]), 'video.example.org');
  t.equal(aliasDomain([urlId('http://nobody'), dialledDigits('123')]), '');
  t.equal(aliasDomain(undefined), '');
  t.equal(meetingOf(dialledDigits('8001')), '8001');
  t.equal(meetingOf(urlId('h323:board@example.com')), 'board');
  t.equal(meetingOf(emailId('board@example.com')), 'board');
  t.equal(meetingOf(h323Id('Board Room')), 'Board Room');
  t.equal(meetingOf(undefined), '');
});

const reg = (id: string, aliases: Registration['aliases'], expires: number, rasAddress = '192.0.2.1'): Registration => ({
  endpointId: id, aliases, callSignal: [transportAddress(rasAddress, 1720)], rasAddress, rasPort: 1719, identity: { protocol: 'h323', vendor: '', product: '', version: '' }, expires,
});

t.test('registration table: aliases, re-registration, time to live, bound', async (t) => {
  const table = new RegistrationTable(2);
  table.add(reg('a', [h323Id('Room A'), dialledDigits('7001')], 1000));
  t.equal(table.byAlias(h323Id('room a'), 0)?.endpointId, 'a', 'aliases compare without case');
  t.equal(table.byAlias(dialledDigits('7001'), 0)?.endpointId, 'a');
  t.equal(table.byAlias(h323Id('7001'), 0), undefined, 'and by type');
  t.same(table.conflicts([dialledDigits('7001'), h323Id('other')], '192.0.2.9', 0).map(aliasKey), ['dialledDigits:7001'], 'another source: its aliases conflict');
  t.same(table.conflicts([dialledDigits('7001')], '192.0.2.1', 0), [], 'the same source: no conflict');
  t.same(table.conflicts([dialledDigits('7001')], '192.0.2.9', 1000), [], 'an expired holder: no conflict');
  table.add(reg('b', [dialledDigits('7001')], 2000));
  t.equal(table.byAlias(dialledDigits('7001'), 0)?.endpointId, 'b', 'an endpoint of the same source that registers an alias again takes it');
  t.equal(table.byId('a', 0), undefined, 'and the earlier registration gives way whole');
  t.equal(table.byAlias(h323Id('Room A'), 0), undefined);
  table.add(reg('a', [h323Id('Room A')], 1000, '192.0.2.2'));
  t.ok(table.full);
  t.ok(table.sourceFull('192.0.2.1') === false && table.sources === 2);
  table.add(reg('a', [h323Id('Room A2')], 1500, '192.0.2.2'));
  t.equal(table.byAlias(h323Id('Room A'), 0), undefined, 're-registration replaces the aliases');
  t.equal(table.size, 2);
  t.equal(table.byId('a\0\0', 0)?.endpointId, 'a', 'an identifier padded with NULs is the same');
  t.equal(table.byId('a', 1500), undefined, 'expired');
  t.equal(table.sweep(1600), 1);
  t.equal(table.size, 1);
  t.equal(table.sources, 1);
  t.ok(table.remove('b'));
  t.notOk(table.remove('b'));
  t.equal(table.byAlias(dialledDigits('7001'), 0), undefined);
  const perSource = new RegistrationTable(10, 1);
  perSource.add(reg('x', [h323Id('x')], 1000, '192.0.2.7'));
  t.ok(perSource.sourceFull('192.0.2.7'), 'one per source');
  t.notOk(perSource.sourceFull('192.0.2.8'));
});

t.test('configuration: the h323 section and the plain ras port', async (t) => {
  const base = readFileSync(defaultConfigPath(), 'utf8');
  const c = parseConfig(base, 'default.yaml');
  t.same(c.h323, {
    maxMessageBytes: 16384, headerTimeoutMs: 5000, idleTimeoutMs: 60000, connectTimeoutMs: 2000, setupTimeoutMs: 4000, answerTimeoutMs: 180000, forwardReleaseMs: 2000,
    maxConnections: 10000, maxConnectionsPerSource: 100,
    ras: { gatekeeperId: 'vcproxy-local', timeToLiveS: 300, maxRegistrations: 100000, maxAlternates: 4, maxRegistrationsPerSource: 100, maxAliases: 32, maxDatagramBytes: 4096, neighbours: [] },
  });
  t.equal(c.connectors[0]!.endpoints[0]!.ras, 21719);
  t.equal(c.servers[0]!.h323Port, 1820);
  const set = parseConfig(`${base}\nh323: { maxMessageBytes: 4096, ras: { gatekeeperId: GK-1, maxAlternates: 0 } }\n`, 'x.yaml');
  t.match(set.h323, { maxMessageBytes: 4096, ras: { gatekeeperId: 'GK-1', maxAlternates: 0, timeToLiveS: 300 } });
  const bad = (text: string, re: RegExp): void => {
    try {
      parseConfig(text, 'x.yaml');
      t.fail(`accepted: ${re}`);
    } catch (e) {
      t.type(e, ConfigError);
      t.match((e as Error).message, re);
    }
  };
  bad(`${base}\nh323: { maxMessageBytes: 100 }\n`, /x\.yaml: h323\.maxMessageBytes \(line \d+\): expected octets of one TPKT payload, 512\.\.65531/);
  bad(`${base}\nh323: { setupTimeout: 5 }\n`, /h323\.setupTimeout .*unknown key/);
  bad(base.replace('ras: 21719 ', 'ras: 11719 '), /ports\.ras .*a udp port not already used by connector local\/0 rasProxied/);
});
