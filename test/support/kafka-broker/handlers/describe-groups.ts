/** DescribeGroups (15) v1-2: state and members, for admin.describeGroups and debugging tests. */
import { Writer } from '../codec';
import type { ApiHandler } from '../context';
import { ErrorCode } from '../errors';

export const describeGroupsHandler: ApiHandler = {
  apiKey: 15,
  name: 'DescribeGroups',
  minVersion: 1,
  maxVersion: 2,
  handle(request, ctx) {
    const groupIds = request.array((r) => r.string());
    const w = new Writer().int32(0);
    w.array(groupIds, (w, groupId) => {
      const group = ctx.broker.groups.describe(groupId);
      w.int16(ErrorCode.NONE).string(groupId).string(group.state).string(group.protocolType).string(group.protocolName);
      w.array(group.members, (w, m) => w.string(m.memberId).string(m.clientId).string('/127.0.0.1').bytes(m.metadata).bytes(m.assignment));
    });
    return w;
  },
};
