import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  BigValueColorMode,
  BigValueGraphMode,
  BigValueJustifyMode,
  BigValueTextMode,
  DashboardCursorSync,
  LegendDisplayMode,
  PercentChangeColorMode,
  SortOrder,
  ThresholdsMode,
  TooltipDisplayMode,
  VariableHide,
  VariableRefresh,
  VariableSort,
  VizOrientation,
  type DataQuery,
  type Dashboard,
  type Panel,
  type RowPanel,
  type VariableModel,
} from '@grafana/schema';
import type { FieldConfig as TimeSeriesFieldConfig, Options as TimeSeriesOptions } from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
import type { Options as StatOptions } from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';

/**
 * The vcproxy Grafana dashboard, written against Grafana's own schema types (`@grafana/schema`: the
 * dashboard model, the time series and stat panel options): `tsc` checks every field of it. `node
 * dist/scripts/monitoring/dashboard.js` writes config/monitoring/grafana/vcproxy.json; a test checks
 * that the file is what this produces and that every query parses (promtool).
 */

/** A Prometheus query of a panel (Grafana's Prometheus data query: expr, legend). */
interface PromQuery extends DataQuery {
  expr: string;
  legendFormat: string;
  range: boolean;
}

const DS = { type: 'prometheus', uid: '${datasource}' };
const POP = 'pop=~"$pop"';

let nextId = 1;
const q = (expr: string, legendFormat: string, refId: string): PromQuery => ({ refId, datasource: DS, expr, legendFormat, range: true });

function timeseries(title: string, description: string, unit: string, gridPos: { x: number; y: number; w: number; h: number }, targets: PromQuery[]): Panel {
  const options: TimeSeriesOptions = {
    legend: { showLegend: true, displayMode: LegendDisplayMode.Table, placement: 'bottom', calcs: ['lastNotNull', 'max'] },
    tooltip: { mode: TooltipDisplayMode.Multi, sort: SortOrder.Descending },
  };
  const custom: TimeSeriesFieldConfig = { lineWidth: 1, fillOpacity: 10 };
  return {
    id: nextId++,
    type: 'timeseries',
    title,
    description,
    datasource: DS,
    gridPos,
    targets: targets as unknown as Array<Record<string, unknown>>,
    options: options as unknown as Record<string, unknown>,
    fieldConfig: { defaults: { unit, custom: custom as Record<string, unknown> }, overrides: [] },
  };
}

function stat(title: string, description: string, unit: string, gridPos: { x: number; y: number; w: number; h: number }, targets: PromQuery[], red: number | null): Panel {
  const options: StatOptions = {
    reduceOptions: { calcs: ['lastNotNull'], values: false },
    orientation: VizOrientation.Auto,
    colorMode: BigValueColorMode.Background,
    graphMode: BigValueGraphMode.Area,
    justifyMode: BigValueJustifyMode.Auto,
    textMode: BigValueTextMode.ValueAndName,
    percentChangeColorMode: PercentChangeColorMode.Standard,
    showPercentChange: false,
    wideLayout: true,
  };
  return {
    id: nextId++,
    type: 'stat',
    title,
    description,
    datasource: DS,
    gridPos,
    targets: targets as unknown as Array<Record<string, unknown>>,
    options: options as unknown as Record<string, unknown>,
    fieldConfig: {
      defaults: {
        unit,
        thresholds: { mode: ThresholdsMode.Absolute, steps: red === null ? [{ color: 'green', value: null }] : [{ color: 'red', value: null }, { color: 'green', value: red }] },
      },
      overrides: [],
    },
  };
}

const row = (title: string, y: number): RowPanel => ({ id: nextId++, type: 'row', title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });

const variables: VariableModel[] = [
  { type: 'datasource', name: 'datasource', label: 'Prometheus', query: 'prometheus', hide: VariableHide.dontHide, refresh: VariableRefresh.onDashboardLoad },
  {
    type: 'query',
    name: 'pop',
    label: 'POP',
    datasource: DS,
    query: 'label_values(vcp_build_info, pop)',
    multi: true,
    includeAll: true,
    allValue: '.*',
    refresh: VariableRefresh.onTimeRangeChanged,
    sort: VariableSort.alphabeticalAsc,
    hide: VariableHide.dontHide,
  },
];

export function dashboard(): Dashboard {
  nextId = 1;
  const panels: Array<Panel | RowPanel> = [
    row('Calls', 0),
    timeseries('SIP calls/s by technique and outcome', 'INVITE outcomes of every worker: the technique chosen (proxy, local, redirect) and how the setup ended.', 'reqps', { x: 0, y: 1, w: 12, h: 8 }, [
      q(`sum by (technique, outcome) (rate(vcp_sip_calls_total{${POP}}[$__rate_interval]))`, '{{technique}} {{outcome}}', 'A'),
    ]),
    timeseries('H.323 calls/s by technique and outcome', 'H.323 call setups of every worker.', 'reqps', { x: 12, y: 1, w: 12, h: 8 }, [
      q(`sum by (technique, outcome) (rate(vcp_h323_calls_total{${POP}}[$__rate_interval]))`, '{{technique}} {{outcome}}', 'A'),
    ]),
    timeseries('Calls in progress per POP', 'Established SIP dialogs and H.323 calls through the workers of each POP: its load.', 'short', { x: 0, y: 9, w: 12, h: 8 }, [
      q(`sum by (pop) (vcp_sip_dialogs{${POP}})`, 'SIP {{pop}}', 'A'),
      q(`sum by (pop) (vcp_h323_calls{${POP}})`, 'H.323 {{pop}}', 'B'),
    ]),
    timeseries('Call setup time', 'INVITE to final response (SIP) and Setup to Connect (H.323), 50th and 95th percentile.', 's', { x: 12, y: 9, w: 12, h: 8 }, [
      q(`histogram_quantile(0.5, sum by (le) (rate(vcp_sip_setup_seconds_bucket{${POP}}[$__rate_interval])))`, 'SIP p50', 'A'),
      q(`histogram_quantile(0.95, sum by (le) (rate(vcp_sip_setup_seconds_bucket{${POP}}[$__rate_interval])))`, 'SIP p95', 'B'),
      q(`histogram_quantile(0.95, sum by (le) (rate(vcp_h323_setup_seconds_bucket{${POP}}[$__rate_interval])))`, 'H.323 p95', 'C'),
    ]),
    row('Decisions and learning', 17),
    timeseries('Decision latency', 'Time of one load-balancing decision with its profile reads, per POP.', 's', { x: 0, y: 18, w: 8, h: 8 }, [
      q(`histogram_quantile(0.5, sum by (pop, le) (rate(vcp_decide_seconds_bucket{${POP}}[$__rate_interval])))`, 'p50 {{pop}}', 'A'),
      q(`histogram_quantile(0.99, sum by (pop, le) (rate(vcp_decide_seconds_bucket{${POP}}[$__rate_interval])))`, 'p99 {{pop}}', 'B'),
    ]),
    timeseries('Redirects pending', 'Redirects issued awaiting their arrival, per POP (a redirect not yet proven for a class is tried one at a time).', 'short', { x: 8, y: 18, w: 8, h: 8 }, [
      q(`sum by (pop) (vcp_redirects_pending{${POP}})`, '{{pop}}', 'A'),
    ]),
    timeseries('Learning', 'Redirects never followed by cause, and classes whose technique changed (alert VcproxyLearningFlipping).', 'short', { x: 16, y: 18, w: 8, h: 8 }, [
      q(`sum by (cause) (increase(vcp_redirect_misses_total{${POP}}[$__rate_interval]))`, 'missed: {{cause}}', 'A'),
      q(`sum (increase(vcp_learning_technique_changes_total{${POP}}[$__rate_interval]))`, 'technique changes', 'B'),
    ]),
    row('Layer 1', 26),
    stat('Layer-1 members up', 'Connector workers that pass the health probes of each layer-1 node (red at 0: VcproxyNoHealthyMember).', 'short', { x: 0, y: 27, w: 8, h: 6 }, [
      q(`sum by (pop, layer1) (vcp_l1_member_up{${POP}})`, '{{pop}} {{layer1}}', 'A'),
    ], 1),
    stat('Layer-1 members draining', 'Members taking no new flows: drained by an operator, or replaced by a reload or an upgrade.', 'short', { x: 8, y: 27, w: 8, h: 6 }, [
      q(`sum by (pop, layer1) (vcp_l1_member_draining{${POP}})`, '{{pop}} {{layer1}}', 'A'),
    ], null),
    timeseries('Flows and connections per member', 'UDP flows and TCP connections layer 1 holds towards each worker.', 'short', { x: 16, y: 27, w: 8, h: 6 }, [
      q(`sum by (member) (vcp_l1_udp_flows_active{${POP}})`, 'UDP {{member}}', 'A'),
      q(`sum by (member) (vcp_l1_tcp_connections_active{${POP}})`, 'TCP {{member}}', 'B'),
    ]),
    row('Service', 33),
    timeseries('Replication lag', 'How far behind the profile events of the other POPs are.', 's', { x: 0, y: 34, w: 8, h: 7 }, [
      q(`max by (pop, instance) (vcp_replication_lag_seconds{${POP}})`, '{{pop}} {{instance}}', 'A'),
    ]),
    timeseries('Profile store disk free', 'Free share of the file system holding the LMDB profile store (alert below 10%).', 'percentunit', { x: 8, y: 34, w: 8, h: 7 }, [
      q(`min by (pop, instance) (vcp_profile_store_filesystem_free_bytes{${POP}} / vcp_profile_store_filesystem_size_bytes{${POP}})`, '{{pop}} {{instance}}', 'A'),
    ]),
    timeseries('Versions running', 'Processes per version: during an upgrade the workers move to the new version one at a time.', 'short', { x: 16, y: 34, w: 8, h: 7 }, [
      q(`count by (version, role) (vcp_build_info{${POP}})`, '{{version}} {{role}}', 'A'),
    ]),
  ];
  return {
    uid: 'vcproxy',
    title: 'vcproxy',
    description: 'Calls by technique and outcome, decisions, per-POP load, redirects, layer-1 members, replication and versions.',
    tags: ['vcproxy'],
    editable: true,
    graphTooltip: DashboardCursorSync.Crosshair,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    timezone: 'utc',
    templating: { list: variables },
    annotations: { list: [] },
    links: [],
    panels,
  };
}

export const DASHBOARD_FILE = fileURLToPath(new URL('../../../config/monitoring/grafana/vcproxy.json', import.meta.url));

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(DASHBOARD_FILE, `${JSON.stringify(dashboard(), null, 2)}\n`);
  process.stdout.write(`${DASHBOARD_FILE}\n`);
}
