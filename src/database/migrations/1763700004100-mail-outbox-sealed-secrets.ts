import type { MigrationInterface, QueryRunner } from 'typeorm';

// mail_outbox.secret now holds the token sealed with ENCRYPTION_KEY (src/modules/crypto), and is
// erased when the message is parked or its token spent (docs/mail.md).
export class MailOutboxSealedSecrets1763700004100 implements MigrationInterface {
  name = 'MailOutboxSealedSecrets1763700004100';

  async up(q: QueryRunner): Promise<void> {
    // Tokens stored in clear before this release: erased now rather than left in the table (and its
    // backups); a waiting message among them is parked, and its user asks for a new link.
    await q.query(`
      UPDATE mail_outbox
         SET secret = NULL,
             status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END,
             last_error = CASE WHEN status = 'pending' THEN 'not sent: queued before tokens were encrypted'
                               ELSE last_error END
       WHERE secret IS NOT NULL AND (status <> 'pending' OR secret NOT LIKE 'v1.%')`);
    // forgetting a user's spent tokens (a reset done, an address verified): WHERE user_id = $1 AND
    // template = $2 AND secret IS NOT NULL; only waiting messages hold one, so the index stays small
    await q.query(
      `CREATE INDEX mail_outbox_secret_user_idx ON mail_outbox (user_id, template) WHERE secret IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX mail_outbox_secret_user_idx`);
  }
}
