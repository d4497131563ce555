/** How conditions read to people (messages, the incidents table) and which number they compare against. */
import type { AlertCondition } from './config';

function usd(value: number): string {
  return `$${Number(value.toPrecision(6))}`;
}

function duration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** e.g. "p95 latency over 5 min > 3000 ms", "span verdict flagged (severity >= high)". */
export function describeCondition(condition: AlertCondition): string {
  switch (condition.type) {
    case 'verdict': {
      const severity = condition.min_severity ? ` (severity >= ${condition.min_severity})` : '';
      return `span verdict ${condition.verdicts.join(' or ')}${severity}`;
    }
    case 'error_status':
      return 'span status error';
    case 'cost_above':
      return `span cost > ${usd(condition.threshold_usd)}`;
    case 'latency_avg':
      return `avg latency over ${duration(condition.window_seconds)} > ${condition.threshold_ms} ms`;
    case 'latency_p95':
      return `p95 latency over ${duration(condition.window_seconds)} > ${condition.threshold_ms} ms`;
    case 'error_rate':
      return `error rate over ${duration(condition.window_seconds)} > ${Number((condition.threshold * 100).toPrecision(6))}% (at least ${condition.min_spans} spans)`;
    case 'cost_sum':
      return `cost over ${duration(condition.window_seconds)} > ${usd(condition.threshold_usd)}`;
    case 'tokens_sum':
      return `tokens over ${duration(condition.window_seconds)} > ${condition.threshold}`;
    case 'flagged_count':
      return `flagged spans over ${duration(condition.window_seconds)} > ${condition.threshold}`;
    case 'span_count':
      return `spans over ${duration(condition.window_seconds)} ${condition.below ? '<' : '>'} ${condition.threshold}`;
  }
}

/**
 * The threshold the incident's value is compared with. Verdict and error-status rules count the
 * matching spans of an incident, so any count above 0 is the crossing.
 */
export function thresholdOf(condition: AlertCondition): number {
  switch (condition.type) {
    case 'verdict':
    case 'error_status':
      return 0;
    case 'cost_above':
    case 'cost_sum':
      return condition.threshold_usd;
    case 'latency_avg':
    case 'latency_p95':
      return condition.threshold_ms;
    case 'error_rate':
    case 'tokens_sum':
    case 'flagged_count':
    case 'span_count':
      return condition.threshold;
  }
}

/** The unit a value is shown in. */
export function unitOf(condition: AlertCondition): string {
  switch (condition.type) {
    case 'cost_above':
    case 'cost_sum':
      return 'USD';
    case 'latency_avg':
    case 'latency_p95':
      return 'ms';
    case 'error_rate':
      return 'ratio';
    case 'tokens_sum':
      return 'tokens';
    default:
      return 'spans';
  }
}
