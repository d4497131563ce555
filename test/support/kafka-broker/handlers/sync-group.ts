/** SyncGroup (14) v1-3: the leader's assignment goes to every member of the generation. */
import { Writer } from '../codec';
import type { ApiHandler } from '../context';

export const syncGroupHandler: ApiHandler = {
  apiKey: 14,
  name: 'SyncGroup',
  minVersion: 1,
  maxVersion: 3,
  async handle(request, ctx) {
    const groupId = request.string();
    const generationId = request.int32();
    const memberId = request.string();
    if (ctx.apiVersion >= 3) request.nullableString(); // group_instance_id: static membership not supported
    const assignments = request.array((r) => ({ memberId: r.string(), assignment: Buffer.from(r.bytes()) }));
    const result = await ctx.broker.groups.sync(groupId, generationId, memberId, assignments);
    return new Writer().int32(0).int16(result.errorCode).bytes(result.assignment);
  },
};
