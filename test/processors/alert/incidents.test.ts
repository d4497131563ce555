import { IncidentBook, incidentId, type Change, type Reading } from '../../../processors/alert/incidents';

const reading = (fields: Partial<Reading> = {}): Reading => ({
  ruleId: 'slow',
  ruleName: 'Slow',
  severity: 'high',
  condition: 'avg latency over 5 min > 1000 ms',
  groupKey: '[["model","gpt-4o"]]',
  group: { model: 'gpt-4o' },
  value: 1500,
  threshold: 1000,
  exampleTraceIds: ['t1', 't2', 't3', 't4'],
  ...fields,
});

/** The incident change of a firing that is within the book's bound. */
function fire(book: IncidentBook, r: Reading, now: number): Change {
  const change = book.fire(r, now);
  if (!change) throw new Error('the book refused a firing');
  return change;
}

const T0 = 1_763_900_000_000;
const SECOND = 1000;

describe('IncidentBook', () => {
  it('opens an incident with a deterministic id and notifies once', () => {
    const book = new IncidentBook({ cooldownMs: 300 * SECOND, renotifyMs: 3600 * SECOND, maxFiring: 100 });
    const change = fire(book, reading(), T0);
    expect(change.notify).toBe('firing');
    expect(change.incident).toEqual({
      id: incidentId('slow', '[["model","gpt-4o"]]', T0),
      ruleId: 'slow',
      ruleName: 'Slow',
      severity: 'high',
      status: 'firing',
      groupKey: '[["model","gpt-4o"]]',
      group: { model: 'gpt-4o' },
      condition: 'avg latency over 5 min > 1000 ms',
      value: 1500,
      threshold: 1000,
      firstSeen: T0,
      lastSeen: T0,
      exampleTraceIds: ['t1', 't2', 't3'],
      updatedAt: T0,
    });
    expect(incidentId('slow', '[["model","gpt-4o"]]', T0)).toMatch(/^[0-9a-f]{32}$/);
    expect(incidentId('slow', '[["model","gpt-4o"]]', T0 + 1)).not.toBe(change.incident.id);
  });

  it('updates a firing incident without notifying until the renotify interval passed', () => {
    const book = new IncidentBook({ cooldownMs: 0, renotifyMs: 60 * SECOND, maxFiring: 100 });
    const opened = fire(book, reading(), T0).incident;
    const update = fire(book, reading({ value: 1800, exampleTraceIds: ['t9'] }), T0 + 30 * SECOND);
    expect(update.notify).toBeUndefined();
    expect(update.incident).toMatchObject({ id: opened.id, value: 1800, firstSeen: T0, lastSeen: T0 + 30 * SECOND, exampleTraceIds: ['t9'] });
    const reminder = fire(book, reading({ value: 2000 }), T0 + 60 * SECOND);
    expect(reminder.notify).toBe('updated');
    expect(reminder.incident.id).toBe(opened.id);
    // The interval counts from the last notification, not from the opening.
    expect(fire(book, reading(), T0 + 90 * SECOND).notify).toBeUndefined();
    expect(fire(book, reading(), T0 + 120 * SECOND).notify).toBe('updated');
  });

  it('resolves only after the condition stayed clear for the cooldown, and a new firing resets the clock', () => {
    const book = new IncidentBook({ cooldownMs: 300 * SECOND, renotifyMs: 3600 * SECOND, maxFiring: 100 });
    const { id } = fire(book, reading(), T0).incident;
    expect(book.clear('slow', reading().groupKey, T0 + 60 * SECOND)).toBeUndefined();
    expect(book.clear('slow', reading().groupKey, T0 + 300 * SECOND)).toBeUndefined();
    // Flapping back: the clear period starts over.
    expect(fire(book, reading(), T0 + 310 * SECOND).notify).toBeUndefined();
    expect(book.clear('slow', reading().groupKey, T0 + 320 * SECOND)).toBeUndefined();
    expect(book.clear('slow', reading().groupKey, T0 + 600 * SECOND)).toBeUndefined();
    const resolved = book.clear('slow', reading().groupKey, T0 + 620 * SECOND);
    expect(resolved?.notify).toBe('resolved');
    expect(resolved?.incident).toMatchObject({ id, status: 'resolved', resolvedAt: T0 + 620 * SECOND, lastSeen: T0 + 310 * SECOND });
    expect(book.active()).toEqual([]);
    // The next firing is a new incident.
    const reopened = fire(book, reading(), T0 + 700 * SECOND);
    expect(reopened.notify).toBe('firing');
    expect(reopened.incident.id).not.toBe(id);
  });

  it('resolves per-span incidents once no matching span came for the cooldown', () => {
    const book = new IncidentBook({ cooldownMs: 120 * SECOND, renotifyMs: 3600 * SECOND, maxFiring: 100 });
    fire(book, reading({ ruleId: 'errors', groupKey: 'a' }), T0);
    fire(book, reading({ ruleId: 'errors', groupKey: 'b' }), T0 + 100 * SECOND);
    fire(book, reading({ ruleId: 'other', groupKey: 'a' }), T0);
    const resolved = book.resolveQuiet('errors', T0 + 150 * SECOND);
    expect(resolved.map((c) => [c.incident.groupKey, c.notify])).toEqual([['a', 'resolved']]);
    expect(book.active().map((i) => `${i.ruleId}/${i.groupKey}`).sort()).toEqual(['errors/b', 'other/a']);
  });

  it('keeps row versions strictly ordered even within one millisecond', () => {
    const book = new IncidentBook({ cooldownMs: 0, renotifyMs: 3600 * SECOND, maxFiring: 100 });
    const a = fire(book, reading(), T0).incident;
    const b = fire(book, reading(), T0).incident;
    const c = book.clear('slow', reading().groupKey, T0)?.incident;
    expect([a.updatedAt, b.updatedAt, c?.updatedAt]).toEqual([T0, T0 + 1, T0 + 2]);
  });

  it('takes back restored incidents without paging again, and retires ones whose rule is gone', () => {
    const book = new IncidentBook({ cooldownMs: 0, renotifyMs: 600 * SECOND, maxFiring: 100 });
    const stored = { ...fire(new IncidentBook({ cooldownMs: 0, renotifyMs: 0, maxFiring: 100 }), reading(), T0).incident, updatedAt: T0 + 100 * SECOND };
    book.restore(stored);
    const next = fire(book, reading({ value: 1700 }), T0 + 200 * SECOND);
    expect(next.notify).toBeUndefined();
    expect(next.incident.id).toBe(stored.id);
    expect(fire(book, reading(), T0 + 700 * SECOND).notify).toBe('updated');
    const retired = book.retire('slow', reading().groupKey, T0 + 800 * SECOND);
    expect(retired).toMatchObject({ id: stored.id, status: 'resolved', resolvedAt: T0 + 800 * SECOND });
    expect(book.active()).toEqual([]);
  });

  it('opens no more than maxFiring incidents, while the open ones keep updating', () => {
    const book = new IncidentBook({ cooldownMs: 0, renotifyMs: 3600 * SECOND, maxFiring: 2 });
    fire(book, reading({ groupKey: 'a' }), T0);
    fire(book, reading({ groupKey: 'b' }), T0);
    expect(book.fire(reading({ groupKey: 'c' }), T0)).toBeUndefined();
    expect(book.fire(reading({ groupKey: 'a', value: 9 }), T0 + 1)?.incident.value).toBe(9);
    book.clear('slow', 'b', T0 + 2);
    expect(book.fire(reading({ groupKey: 'c' }), T0 + 3)?.notify).toBe('firing');
    expect(book.size).toBe(2);
  });
});
