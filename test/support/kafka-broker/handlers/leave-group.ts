/** LeaveGroup (13) v1-3 (v3 leaves a batch of members, each with its own error). */
import { Writer } from '../codec';
import type { ApiHandler } from '../context';
import { ErrorCode } from '../errors';

export const leaveGroupHandler: ApiHandler = {
  apiKey: 13,
  name: 'LeaveGroup',
  minVersion: 1,
  maxVersion: 3,
  handle(request, ctx) {
    const groups = ctx.broker.groups;
    const groupId = request.string();
    if (ctx.apiVersion < 3) {
      return new Writer().int32(0).int16(groups.leave(groupId, request.string()));
    }
    const members = request.array((r) => ({ memberId: r.string(), groupInstanceId: r.nullableString() }));
    const results = members.map((m) => ({ ...m, errorCode: groups.leave(groupId, m.memberId) }));
    const w = new Writer().int32(0).int16(ErrorCode.NONE);
    w.array(results, (w, m) => w.string(m.memberId).string(m.groupInstanceId).int16(m.errorCode));
    return w;
  },
};
