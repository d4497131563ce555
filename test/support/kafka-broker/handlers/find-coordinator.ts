/** FindCoordinator (10) v1-2: this broker coordinates every group (and would every transaction). */
import { Writer } from '../codec';
import { ADVERTISED_HOST, NODE_ID, type ApiHandler } from '../context';
import { ErrorCode } from '../errors';

export const findCoordinatorHandler: ApiHandler = {
  apiKey: 10,
  name: 'FindCoordinator',
  minVersion: 1,
  maxVersion: 2,
  handle(request, ctx) {
    request.string(); // key
    request.int8(); // key_type
    return new Writer().int32(0).int16(ErrorCode.NONE).string(null).int32(NODE_ID).string(ADVERTISED_HOST).int32(ctx.broker.port());
  },
};
