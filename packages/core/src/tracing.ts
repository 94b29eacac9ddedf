import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { TextMapPropagator } from '@opentelemetry/api';
import {
  type Attributes,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';
import type { FromSchema } from 'json-schema-to-ts';

/**
 * Distributed tracing: the one module that touches the OpenTelemetry SDK. Off unless
 * `telemetry.traces.endpoint` is set; then each process exports its spans over OTLP/HTTP (JSON) and
 * joins the W3C `traceparent` it was sent, so one request reads as one trace across the gateway,
 * the services and the identity provider or permission engine.
 *
 * The SDK is loaded only when tracing is on, so a process without it pays neither the start-up
 * nor the memory. Nothing is registered globally (no global tracer provider, no context manager): a span is a value
 * the caller holds and ends, and the trace context travels only in headers. Span attributes are
 * chosen by the callers and never include a credential (no Authorization, Cookie or token).
 */

export const telemetryConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'OpenTelemetry: traces exported over OTLP/HTTP (off unless an endpoint is set)',
  properties: {
    traces: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        endpoint: {
          type: 'string',
          format: 'uri',
          pattern: '^https?://',
          description:
            'OTLP/HTTP traces endpoint (a collector: http://otel-collector:4318/v1/traces); absent, tracing is off and costs nothing per request',
        },
        sampleRatio: {
          type: 'number',
          minimum: 0,
          maximum: 1,
          default: 1,
          description:
            'share of new traces recorded; a request that arrives with a traceparent follows its sampled flag',
        },
        serviceName: {
          type: 'string',
          minLength: 1,
          description:
            'service.name of the spans (default gatehouse-<verb>: gatehouse-gateway, gatehouse-idp, ...)',
        },
        exportIntervalMs: {
          type: 'integer',
          minimum: 10,
          maximum: 60000,
          default: 5000,
          description: 'how often finished spans are sent; spans still buffered are sent at shutdown',
        },
      },
    },
  },
} as const;

/** The `telemetry` section after validation (defaults filled in). */
export type TelemetryConfig = FromSchema<typeof telemetryConfigSchema>;
export type TracesConfig = TelemetryConfig['traces'];

/** A span in progress: what a handler records on it, and the `traceparent` to send downstream. */
export interface TraceSpan {
  /** W3C `traceparent` naming this span as the parent of whatever is called next. */
  readonly traceparent: string;
  readonly traceId: string;
  set(attributes: Attributes): void;
  /** Ends the span; a status of 500 or more marks it an error. */
  end(status?: number): void;
}

export interface Tracing {
  /** False when tracing is off: callers test it before building anything for a span. */
  readonly enabled: boolean;
  /**
   * Starts a server span, the child of `traceparent` when one is given and valid (the caller decides
   * whether the peer may continue a trace), else the root of a new trace.
   */
  startSpan(name: string, traceparent: string | undefined, attributes?: Attributes): TraceSpan;
  /** Sends the spans still buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/** Tracing switched off: nothing is created, nothing is sent. */
export const noTracing: Tracing = {
  enabled: false,
  startSpan() {
    throw new Error('tracing is off: test Tracing.enabled before starting a span');
  },
  shutdown: async () => {},
};

/** `noTracing` without an endpoint, else an exporting tracer named `serviceName` (or the default). */
export async function createTracing(
  config: TracesConfig | undefined,
  defaultServiceName: string,
): Promise<Tracing> {
  if (!config?.endpoint) return noTracing;
  const [{ W3CTraceContextPropagator }, { OTLPTraceExporter }, { resourceFromAttributes }, sdk, semconv] =
    await Promise.all([
      import('@opentelemetry/core'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/semantic-conventions'),
    ]);
  const { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } = sdk;
  const propagator = new W3CTraceContextPropagator();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [semconv.ATTR_SERVICE_NAME]: config.serviceName ?? defaultServiceName,
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: config.endpoint }), {
        scheduledDelayMillis: config.exportIntervalMs,
      }),
    ],
  });
  const tracer = provider.getTracer('@gatehouse/core');
  return {
    enabled: true,
    startSpan: (name, traceparent, attributes) => wrap(tracer, propagator, name, traceparent, attributes),
    shutdown: () => provider.shutdown(),
  };
}

function wrap(
  tracer: Tracer,
  propagator: TextMapPropagator,
  name: string,
  traceparent: string | undefined,
  attributes?: Attributes,
): TraceSpan {
  const parent =
    traceparent === undefined
      ? ROOT_CONTEXT
      : propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
  const span: Span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  const ctx = span.spanContext();
  return {
    traceparent: `00-${ctx.traceId}-${ctx.spanId}-0${ctx.traceFlags & 1}`,
    traceId: ctx.traceId,
    set: (a) => {
      span.setAttributes(a);
    },
    end: (status) => {
      if (status !== undefined) {
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    },
  };
}

/** A request handler that may be given the request's span, to pass its `traceparent` on to what it calls. */
export type TracedHandler = (req: IncomingMessage, res: ServerResponse, span?: TraceSpan) => void;

/**
 * A request handler whose every request is a server span: the child of the inbound `traceparent`
 * (services behind the gateway are reached through it, which only forwards a trusted one), named by
 * method, with the path (no query: it may hold a secret) and the answer's status. The handler itself
 * when tracing is off.
 */
export function traceRequests(handler: TracedHandler, tracing: Tracing): RequestListener {
  if (!tracing.enabled) return handler;
  return (req: IncomingMessage, res: ServerResponse) => {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const inbound = req.headers.traceparent;
    const method = req.method ?? 'GET';
    const span = tracing.startSpan(method, typeof inbound === 'string' ? inbound : undefined, {
      'http.request.method': method,
      'url.path': q === -1 ? target : target.slice(0, q),
    });
    res.once('close', () => span.end(res.statusCode));
    handler(req, res, span);
  };
}
