/** Heartbeat (12) v1-3: liveness, and how members learn that a rebalance started. */
import { Writer } from '../codec';
import type { ApiHandler } from '../context';

export const heartbeatHandler: ApiHandler = {
  apiKey: 12,
  name: 'Heartbeat',
  minVersion: 1,
  maxVersion: 3,
  handle(request, ctx) {
    const groupId = request.string();
    const generationId = request.int32();
    const memberId = request.string();
    if (ctx.apiVersion >= 3) request.nullableString(); // group_instance_id
    return new Writer().int32(0).int16(ctx.broker.groups.heartbeat(groupId, generationId, memberId));
  },
};
