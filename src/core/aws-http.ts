/**
 * How the pipeline's AWS clients (S3, Secrets Manager) talk HTTP. The SDK's default handler waits
 * for ever: in a VPC without a route to the service (no endpoint, no NAT) a request hangs until the
 * Lambda times out. With these timeouts it fails within seconds, as a transient error that the
 * SDK's retries and then the state machine's retry.
 */
import { NodeHttpHandler } from '@smithy/node-http-handler';

export const AWS_HTTP_TIMEOUTS = {
  /** Opening the TCP connection: milliseconds inside a region, so seconds mean there is no route. */
  connectionTimeoutMs: 10_000,
  /**
   * Sending the request and receiving the response's headers (a body streams afterwards). S3 answers
   * an 8 MiB part (the lake's upload part size) in a second or two; S3 and Secrets Manager send the
   * headers of a slow operation (CompleteMultipartUpload, CopyObject) first and keep the body alive.
   */
  requestTimeoutMs: 10_000,
} as const;

/** A request handler with `AWS_HTTP_TIMEOUTS`, for one client. */
export function awsRequestHandler(): NodeHttpHandler {
  return new NodeHttpHandler({
    connectionTimeout: AWS_HTTP_TIMEOUTS.connectionTimeoutMs,
    requestTimeout: AWS_HTTP_TIMEOUTS.requestTimeoutMs,
    // Without it the handler only logs a warning when requestTimeout passes, and goes on waiting.
    throwOnRequestTimeout: true,
  });
}
