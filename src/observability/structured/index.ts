/** Structured logs: parsing app lines, kumo's own entries, and trace context. */
export { MAX_LINE_CHARS, parseLogLine, parseSeverity } from './parse-line.js';
export type { ParseLineOptions, ParsedLine } from './parse-line.js';
export {
  containerLogEntry,
  requestLogEntry,
  requestLogJson,
  requestSeverity,
  rfc3339Micros,
  systemLogEntry,
  systemMessage,
} from './entries.js';
export type { EntryOrigin, RequestFacts, SystemEvent } from './entries.js';
export {
  parseCloudTraceContext,
  parseTraceparent,
  randomIdSource,
  traceContextFor,
  traceHeaders,
  traceResourceName,
} from './trace.js';
export type { IdSource, TraceContext } from './trace.js';
