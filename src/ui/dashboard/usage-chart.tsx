/**
 * One uPlot chart (issue 7: "a small, fast library such as uPlot") in a <figure>: the canvas is a
 * picture, so the caption says what it shows and the same numbers are in a table beneath it. Its
 * colours come from the theme and follow the system's light or dark setting as it changes.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { ChartSeries } from './derive-usage';
import { formatTokens, formatUsd } from './format';

function themeColour(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** A number that changes whenever the system switches between light and dark. */
function useColourScheme(): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const query = matchMedia('(prefers-color-scheme: dark)');
    const changed = () => setVersion((v) => v + 1);
    query.addEventListener('change', changed);
    return () => query.removeEventListener('change', changed);
  }, []);
  return version;
}

const formatValue = (unit: ChartSeries['series'][number]['unit'], value: number) => (unit === 'USD' ? formatUsd(value) : formatTokens(value));
/** Axis ticks: whole dollars from $10, so a label fits the axis. */
const tickValue = (unit: ChartSeries['series'][number]['unit'], value: number) => (unit === 'USD' && Math.abs(value) >= 10 ? `$${Math.round(value)}` : formatValue(unit, value));
const shortDay = (seconds: number) => new Date(seconds * 1_000).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });

function options(series: ChartSeries['series'][number], width: number, kind: 'bars' | 'line', dayLabels: boolean): uPlot.Options {
  const stroke = themeColour(series.unit === 'USD' ? '--ok' : '--accent', '#0a5cc2');
  const axis = themeColour('--fg-muted', '#555d68');
  const grid = themeColour('--border', '#d0d5dc');
  const axisStyle = { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  return {
    width,
    height: 180,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      { ...axisStyle, ...(dayLabels ? { values: (_u: uPlot, ticks: number[]) => ticks.map(shortDay) } : {}) },
      { ...axisStyle, size: 64, values: (_u: uPlot, ticks: number[]) => ticks.map((t) => tickValue(series.unit, t)) },
    ],
    series: [
      {},
      {
        label: series.label,
        stroke,
        fill: kind === 'bars' ? stroke : undefined,
        width: kind === 'bars' ? 0 : 2,
        points: { show: kind === 'line' },
        ...(kind === 'bars' ? { paths: uPlot.paths.bars!({ size: [0.6, 40], align: 0 }) } : {}),
      },
    ],
  };
}

export function UsageChart({
  id,
  data,
  index,
  kind,
  dayLabels = false,
}: {
  id: string;
  data: ChartSeries;
  /** which of data.series */
  index: number;
  kind: 'bars' | 'line';
  dayLabels?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot>();
  const scheme = useColourScheme();
  const series = data.series[index];

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const plot = new uPlot(options(series, Math.max(200, element.clientWidth), kind, dayLabels), [data.x, series.values], element);
    chart.current = plot;
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, element.clientWidth), height: 180 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
      chart.current = undefined;
    };
    // A new chart when the data or the colours change: a few dozen points draw in well under a millisecond.
  }, [data, index, kind, dayLabels, scheme]);

  const rows = data.x.map((x, i) => [x, series.values[i]] as const);
  return (
    <figure class="chart" aria-labelledby={`${id}-caption`}>
      <figcaption id={`${id}-caption`}>{series.label}</figcaption>
      <div ref={box} class="chart-canvas" role="img" aria-label={`${series.label}: a chart of ${rows.length} values; the table below has them`} />
      <details>
        <summary>{series.label} as a table</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">{dayLabels ? 'Day' : 'Block start'}</th>
              <th scope="col">{series.unit === 'USD' ? 'Cost' : 'Tokens'}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([x, value]) => (
              <tr key={x}>
                <td>{dayLabels ? new Date(x * 1_000).toLocaleDateString() : new Date(x * 1_000).toLocaleString()}</td>
                <td>{formatValue(series.unit, value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
