/**
 * Errors as an AWS SDK client throws them when the service answers with an error, for tests that
 * make a mocked client (aws-sdk-client-mock) or a middleware reject: what the code under test
 * classifies is the exception's class, its name and its HTTP status.
 */
import { S3ServiceException } from '@aws-sdk/client-s3';

type ServiceExceptionOptions = ConstructorParameters<typeof S3ServiceException>[0];

/** A service's exception class, such as `S3ServiceException` or `CloudFormationServiceException`. */
export type ServiceExceptionClass<E> = new (options: ServiceExceptionOptions) => E;

export interface ServiceErrorOptions<E> {
  /** The exception's message (`<name> from AWS` by default). */
  readonly message?: string;
  /** Who is at fault; a 5xx status is the server's, anything else the client's, by default. */
  readonly fault?: 'client' | 'server';
  /** The service's exception class (`S3ServiceException` by default). */
  readonly exception?: ServiceExceptionClass<E>;
}

/** An exception named `name` that the service answered with HTTP `status`. */
export function serviceError<E = S3ServiceException>(name: string, status: number, options: ServiceErrorOptions<E> = {}): E {
  const Exception = options.exception ?? (S3ServiceException as unknown as ServiceExceptionClass<E>);
  return new Exception({
    name,
    $fault: options.fault ?? (status >= 500 ? 'server' : 'client'),
    $metadata: { httpStatusCode: status },
    message: options.message ?? `${name} from AWS`,
  });
}
