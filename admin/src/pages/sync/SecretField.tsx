import { Button, Input, Space, Tag } from 'antd';
import { useState } from 'react';
import { useI18n } from '../../i18n';

/**
 * A write-only secret (an LDAP bind password) as a form control. The stored
 * value is never shown: when one is set the field says so, and "change"
 * opens an empty password box. `value` undefined = keep what is stored.
 */
export function SecretField({ id, isSet, value, onChange }: { id: string; isSet: boolean; value?: string; onChange?: (v: string | undefined) => void }) {
  const { t } = useI18n();
  const [changing, setChanging] = useState(!isSet);
  if (!changing) {
    return (
      <Space id={id} data-secret="set">
        <Tag color="green" data-testid="secret-set">
          {t('sync.secret.set')}
        </Tag>
        <Button size="small" id={`${id}-change`} onClick={() => setChanging(true)}>
          {t('sync.secret.change')}
        </Button>
      </Space>
    );
  }
  return (
    <Space.Compact style={{ width: '100%' }}>
      <Input.Password
        id={id}
        value={value ?? ''}
        autoComplete="new-password"
        placeholder={isSet ? t('sync.secret.newValue') : ''}
        onChange={(e) => onChange?.(e.target.value === '' ? undefined : e.target.value)}
      />
      {isSet && (
        <Button
          id={`${id}-keep`}
          onClick={() => {
            onChange?.(undefined);
            setChanging(false);
          }}
        >
          {t('sync.secret.keep')}
        </Button>
      )}
    </Space.Compact>
  );
}
