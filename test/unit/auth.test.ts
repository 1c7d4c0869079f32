import t from 'tap';
import { hashPassword, passwordProblem, verifyPassword } from '../../gateway/src/auth/password.js';
import { LockoutPolicy, WindowLimiter } from '../../gateway/src/auth/rate-limit.js';

t.test('scrypt hashes: salted, self-describing, verified in constant time', async (t) => {
  const a = await hashPassword('正确的密码-1');
  const b = await hashPassword('正确的密码-1');
  t.not(a, b, 'salted');
  t.match(a, /^scrypt\$\d+\$\d+\$\d+\$/);
  t.ok(await verifyPassword('正确的密码-1', a));
  t.notOk(await verifyPassword('wrong', a));
  t.notOk(await verifyPassword('x', 'md5$abc'), 'foreign formats are refused, not thrown');
  t.notOk(await verifyPassword('x', null));
  t.equal(passwordProblem('short'), 'password must have at least 8 characters');
  t.equal(passwordProblem('long enough'), null);
});

t.test('window limiter allows max per window and says how long to wait', async (t) => {
  const l = new WindowLimiter(3, 1000);
  t.same([l.hit('a', 0), l.hit('a', 10), l.hit('a', 20)], [0, 0, 0]);
  t.equal(l.hit('a', 30), 970);
  t.equal(l.hit('b', 30), 0, 'keys are separate');
  t.equal(l.hit('a', 1001), 0, 'the window slides');
});

t.test('lockout after repeated failures, for the lockout period, case-insensitively', async (t) => {
  const p = new LockoutPolicy(3, 60_000);
  p.fail('Alice', 0);
  p.fail('alice', 1);
  t.equal(p.lockedFor('alice', 2), 0);
  p.fail('ALICE', 2);
  t.equal(p.lockedFor('alice', 3), 59_999);
  t.equal(p.lockedFor('alice', 60_003), 0, 'unlocks after the period');
  p.succeed('alice');
  p.fail('alice', 70_000);
  t.equal(p.lockedFor('alice', 70_001), 0, 'a success cleared the count');
});
