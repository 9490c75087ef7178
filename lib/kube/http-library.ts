// The HTTP layer of the generated clients (createConfiguration's `httpApi`),
// on undici's request() instead of its fetch(). client-node's default sends
// every call through fetch(), which builds a WHATWG Request, Headers, a
// Response and a ReadableStream per call and reads the body through them;
// in the operator's profile that machinery was about a sixth of its CPU.
// The dispatcher's own request() (the pool of lib/kube/connection.ts, an
// undici Agent) takes the same abort signal and hands back the status, the
// headers and a body that is read once into a Buffer.
//
// Only string bodies (or none) with a dispatcher are sent this way, which is
// every request the generated clients make of a Kubernetes API server with
// TLS settings in the kubeconfig; anything else (form data, or no TLS
// settings, where client-node leaves undici's global dispatcher to fetch())
// goes through client-node's own fetch layer unchanged.
import { Readable } from "node:stream";
import {
  IsomorphicFetchHttpLibrary,
  ResponseContext,
  wrapHttpLibrary,
  type HttpLibrary,
  type RequestContext,
  type ResponseBody,
} from "@kubernetes/client-node";

type Dispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>;
type DispatchRequest = Parameters<Dispatcher["request"]>[0];

/** The body of an answer, already read: the generated clients read each body once, right after the status. */
class ReadBody implements ResponseBody {
  constructor(private readonly data: Buffer) {}

  text(): Promise<string> {
    return Promise.resolve(this.data.toString("utf8"));
  }

  binary(): Promise<Buffer> {
    return Promise.resolve(this.data);
  }

  stream(): ReadableStream<Uint8Array> {
    return Readable.toWeb(Readable.from([this.data])) as ReadableStream<Uint8Array>;
  }
}

function headerRecord(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

async function send(context: RequestContext, dispatcher: Dispatcher): Promise<ResponseContext> {
  const url = new URL(context.getUrl());
  const answer = await dispatcher.request({
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: context.getHttpMethod() as DispatchRequest["method"],
    headers: context.getHeaders(),
    body: context.getBody() as string | undefined,
    signal: context.getSignal(),
  });
  // Read in full here, under the same signal: the deadline covers the body too,
  // and a body nobody reads would hold its stream (and its connection) open.
  const data = Buffer.from(await answer.body.arrayBuffer());
  return new ResponseContext(answer.statusCode, headerRecord(answer.headers), new ReadBody(data));
}

/** The generated clients' HTTP layer on undici's request(), with the default kept for bodies it does not send. */
export function undiciHttpLibrary(): HttpLibrary {
  const fallback = new IsomorphicFetchHttpLibrary();
  const direct = wrapHttpLibrary({
    send: (context) => {
      const dispatcher = context.getDispatcher();
      if (!dispatcher) throw new Error("no dispatcher for a direct request");
      return send(context, dispatcher);
    },
  });
  return {
    send: (context) => {
      const body = context.getBody();
      const plain = body === undefined || typeof body === "string";
      return plain && context.getDispatcher() ? direct.send(context) : fallback.send(context);
    },
  };
}
