import { Button, Modal, Space, Typography } from 'antd';
import { useState } from 'react';
import type { MemberView } from '../../../../gateway/src/admin/api-types-org';
import { MemberPicker } from '../../components/MemberPicker';
import { useI18n } from '../../i18n';

type UserId = MemberView['id'];

/** "Add to the blocked list": find members by name, pinyin, account or mobile and block them. */
export function AddBlocked({ busy, block }: { busy: boolean; block(members: MemberView[]): Promise<UserId[]> }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [ids, setIds] = useState<UserId[]>([]);
  const [members, setMembers] = useState<MemberView[]>([]);

  const close = () => {
    setOpen(false);
    setIds([]);
    setMembers([]);
  };

  return (
    <>
      <Button id="access-add-blocked" danger onClick={() => setOpen(true)}>
        {t('access.addBlocked')}
      </Button>
      <Modal
        open={open}
        title={t('access.addBlocked.title')}
        onCancel={close}
        destroyOnClose
        footer={[
          <Button key="cancel" onClick={close}>
            {t('access.confirm.cancel')}
          </Button>,
          <Button
            key="ok"
            id="access-add-blocked-submit"
            type="primary"
            danger
            loading={busy}
            disabled={members.length === 0}
            onClick={() => {
              // the dialog itself says what blocking does: no second question
              void block(members.filter((m) => !m.blocked)).then(close);
            }}
          >
            {t('access.addBlocked.submit')}
          </Button>,
        ]}
      >
        <Space direction="vertical" style={{ width: '100%' }}>
          <Typography.Paragraph type="secondary">{t('access.addBlocked.help')}</Typography.Paragraph>
          <MemberPicker
            id="access-add-blocked-picker"
            value={ids}
            onChange={(next, chosen) => {
              setIds(next);
              setMembers(chosen);
            }}
          />
        </Space>
      </Modal>
    </>
  );
}
