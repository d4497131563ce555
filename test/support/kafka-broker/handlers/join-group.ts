/** JoinGroup (11) v2-5 (v4+: the MEMBER_ID_REQUIRED handshake; v5: group_instance_id). */
import { Writer } from '../codec';
import type { ApiHandler } from '../context';

export const joinGroupHandler: ApiHandler = {
  apiKey: 11,
  name: 'JoinGroup',
  minVersion: 2,
  maxVersion: 5,
  async handle(request, ctx) {
    const v = ctx.apiVersion;
    const groupId = request.string();
    const sessionTimeoutMs = request.int32();
    const rebalanceTimeoutMs = request.int32();
    const memberId = request.string();
    const groupInstanceId = v >= 5 ? request.nullableString() : null;
    const protocolType = request.string();
    const protocols = request.array((r) => ({ name: r.string(), metadata: Buffer.from(r.bytes()) }));

    const result = await ctx.broker.groups.join({
      groupId,
      memberId,
      clientId: ctx.clientId ?? '',
      groupInstanceId,
      sessionTimeoutMs,
      rebalanceTimeoutMs,
      protocolType,
      protocols,
      requireKnownMemberId: v >= 4,
    });

    const w = new Writer().int32(0).int16(result.errorCode).int32(result.generationId);
    w.string(result.protocolName).string(result.leaderId).string(result.memberId);
    w.array(result.members, (w, m) => {
      w.string(m.memberId);
      if (v >= 5) w.string(m.groupInstanceId);
      w.bytes(m.metadata);
    });
    return w;
  },
};
