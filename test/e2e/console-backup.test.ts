import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { browserReady, ensureRootAdmin, launch, loginInBrowser, newConsolePage } from '../helpers/browser.js';
import { startGateway } from '../helpers/gateway.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

if (browserReady(t)) {
  t.test('backup page: create, list, download, verify, a corrupted upload refused, delete, how to restore', async (t) => {
    const gw = await startGateway(t);
    await ensureRootAdmin(gw);
    for (let i = 1; i <= 3; i++) await gw.addUser(`bk${i}`, { name: `备份成员${i}` });
    const users = gw.gw.services.db.prepare('SELECT COUNT(*) FROM users').pluck().get() as number;
    const backups = path.join(gw.dataDir, 'backups');
    const browser = await launch(t);
    const cp = await newConsolePage(browser);
    const { page } = cp;
    await loginInBrowser(cp, gw, undefined, '/backup');
    await page.locator('#backup-page').waitFor();
    t.match(await page.getByRole('menuitem', { name: '备份' }).getAttribute('class'), /ant-menu-item-selected/, 'Settings → 备份 in the menu');
    await page.locator('#backup-list-empty').waitFor();

    // the phases the export bar goes through, and whether the upload bar was shown, as the page shows them
    // (a string: this file is type-checked without the DOM library)
    await page.evaluate(`(() => {
      const seen = [];
      window.seenPhases = seen;
      window.seenUpload = [];
      new MutationObserver(() => {
        const p = document.querySelector('[data-testid=backup-export-progress]')?.getAttribute('data-phase');
        if (p && seen[seen.length - 1] !== p) seen.push(p);
        const u = document.querySelector('[data-testid=backup-upload-progress]')?.getAttribute('data-name');
        if (u && !window.seenUpload.includes(u)) window.seenUpload.push(u);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-phase'] });
    })()`);

    // create: the job's bar, then the archive in the list and on disk
    await page.locator('#backup-create').click();
    const job = page.locator('#backup-export-job[data-state=done]');
    await job.waitFor();
    const name = (await job.getAttribute('data-name'))!;
    t.match(name, /^huitong-backup-\d{8}-\d{6}\.tar$/, 'the export is named by its time');
    await page.locator('[data-testid=backup-export-progress][data-phase=done][data-percent="100"]').waitFor();
    const phases = (await page.evaluate('window.seenPhases')) as string[];
    t.ok(phases[0] === 'snapshot' && phases.at(-1) === 'done', `the bar went from snapshot to done (${phases.join(' → ')})`);
    t.equal(await page.locator('#backup-export-counts [data-testid=backup-count][data-key=users]').getAttribute('data-value'), String(users), 'the export says how many users it holds');
    const row = page.locator(`[data-testid=backup-archive][data-name="${name}"]`);
    await row.waitFor();
    const file = path.join(backups, name);
    t.ok(existsSync(file), 'the archive is in the data directory\'s backups/');
    t.ok(existsSync(`${file}.sha256`), 'with its .sha256');
    const listed = Number(await row.getAttribute('data-bytes'));
    t.equal(listed, statSync(file).size, 'the list shows its size');
    t.match(await row.locator('[data-testid=backup-archive-size]').innerText(), new RegExp(`${listed} 字节`), 'to the byte');

    // download: the same bytes as on the server
    const [download] = await Promise.all([page.waitForEvent('download'), row.locator('[data-testid=backup-download]').click()]);
    t.equal(download.suggestedFilename(), name, "the server's file name");
    const got = readFileSync(await download.path());
    t.equal(got.length, listed, 'the download has the listed size');
    t.equal(sha256(got), sha256(readFileSync(file)), 'and the same content');

    // verify: the counts
    t.equal(await row.locator('[data-testid=backup-check]').getAttribute('data-state'), 'none', 'not verified yet');
    await row.locator('[data-testid=backup-verify]').click();
    await page.locator(`#backup-verify-result[data-name="${name}"][data-state=done]`).waitFor();
    t.equal(await page.locator('#backup-verify-counts [data-testid=backup-count][data-key=users]').getAttribute('data-value'), String(users), 'verify shows the users it holds');
    t.match(await page.locator('#backup-verify-counts').innerText(), /成员[\s\S]*部门[\s\S]*群组[\s\S]*消息[\s\S]*文件/, 'and every count, labelled');
    t.equal(await page.locator('[data-testid=backup-verify-checksum]').getAttribute('data-checksum'), 'ok', 'its .sha256 matched');
    await row.locator('[data-testid=backup-check][data-state=done]').waitFor();
    await cp.shot('backup');

    // a corrupted copy: uploaded with progress, then refused by the verification with the reason
    const bad = Buffer.from(got);
    const at = Math.floor(bad.length / 2);
    bad[at] = bad[at]! ^ 0xff;
    await page.locator('#backup-upload-dragger input[type=file]').setInputFiles({ name: 'corrupt copy.tar', mimeType: 'application/x-tar', buffer: bad });
    await page.locator('#backup-upload-done').waitFor();
    const badName = 'corrupt-copy.tar';
    t.same(await page.evaluate('window.seenUpload'), [badName], 'the upload showed its progress bar');
    t.equal(statSync(path.join(backups, badName)).size, bad.length, 'the upload is on the server under a usable name');
    await page.locator(`#backup-verify-result[data-name="${badName}"][data-state=failed]`).waitFor();
    const reason = page.locator('[data-testid=backup-verify-reason]');
    t.equal(await reason.getAttribute('data-code'), 'GW_BACKUP_INVALID', 'refused as an invalid archive');
    t.match(await reason.innerText(), /corrupt|does not match|checksum/i, `with the reason (${await reason.innerText()})`);
    t.match(await page.locator('#backup-verify-error').innerText(), /corrupt-copy\.tar 无法使用/, 'saying which archive cannot be used');
    const badRow = page.locator(`[data-testid=backup-archive][data-name="${badName}"]`);
    await badRow.locator('[data-testid=backup-check][data-state=failed]').waitFor();
    await cp.shot('backup-verify-refused');

    // a name that exists is refused before anything is sent
    await page.locator('#backup-upload-dragger input[type=file]').setInputFiles({ name: badName, mimeType: 'application/x-tar', buffer: bad });
    t.match(await page.locator('#backup-upload-error').innerText(), /已有名为 corrupt-copy\.tar/, 'an existing name is refused');

    // the restore steps name the archive picked in the list
    await row.locator('[data-testid=backup-restore]').click();
    await page.locator(`#backup-restore-card[data-name="${name}"]`).waitFor();
    t.match(await page.locator('#backup-restore-steps').innerText(), new RegExp(`backups/${name.replace(/\./g, '\\.')}`), 'the restore steps name the archive');

    // delete, after a confirm: gone from the list and from the server
    for (const [n, r] of [[badName, badRow], [name, row]] as const) {
      await r.locator('[data-testid=backup-delete]').click();
      await page.locator('#backup-delete-confirm').click();
      await r.waitFor({ state: 'detached' });
      t.notOk(existsSync(path.join(backups, n)), `${n} is gone from the server`);
      t.notOk(existsSync(path.join(backups, `${n}.sha256`)), 'with its checksum file');
    }
    await page.locator('#backup-list-empty').waitFor();

    // restore: the commands, and the server's own word on why the console cannot do it
    const commands = await page.locator('[data-testid=backup-restore-command]').allInnerTexts();
    t.same(commands.map((c) => c.trim()), ['huitong backup verify FILE', 'systemctl stop huitong', 'huitong backup import FILE --yes', 'systemctl start huitong'], 'the restore steps, in order');
    const server = page.locator('#backup-restore-server');
    await server.waitFor();
    t.equal(await server.getAttribute('data-code'), 'GW_BACKUP_SERVER_RUNNING', 'POST import was refused: the server runs');
    t.match(await page.locator('[data-testid=backup-restore-server-message]').innerText(), /server stopped/, "the server's message");
    t.equal(await page.locator('[data-testid=backup-restore-server-command]').innerText(), 'huitong backup import FILE', "and the server's command");
    t.match(await page.locator('#backup-restore-card').innerText(), /服务停止/, 'says the server must be stopped');
    t.same(cp.errors, [], 'no script errors');
  });
}
