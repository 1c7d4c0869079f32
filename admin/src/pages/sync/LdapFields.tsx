import { Button, Col, Divider, Form, Input, InputNumber, Radio, Row, Space, Switch, Typography, Upload } from 'antd';
import { useI18n, type MessageKey } from '../../i18n';
import { ATTR_KEYS, LDAP_PRESETS, type Flavour } from './ldap';
import { SecretField } from './SecretField';

/** Most a pasted or uploaded CA file may hold (the server's limit is 64 KiB). */
const MAX_CA_BYTES = 64 * 1024;

/**
 * The LDAP / AD part of the source form: connection (URL, StartTLS, CA),
 * service account (bind password write-only), where users are, how
 * departments are found, the attribute mapping with OpenLDAP / AD presets,
 * the disabled filter and the page size. Field names are under `ldap`.
 */
export function LdapFields({ passwordSet }: { passwordSet: boolean }) {
  const { t } = useI18n();
  const form = Form.useFormInstance();
  const flavour = (Form.useWatch(['ldap', 'flavour'], form) as Flavour | undefined) ?? 'openldap';
  const deptMode = Form.useWatch(['ldap', 'deptMode'], form) as string | undefined;
  const url = (Form.useWatch(['ldap', 'url'], form) as string | undefined) ?? '';
  const preset = LDAP_PRESETS[flavour];

  const fillPreset = () => {
    form.setFieldsValue({ ldap: { userFilter: preset.userFilter, deptAttribute: preset.deptAttribute, attributes: { ...preset.attributes } } });
  };
  const readCa = async (file: File) => {
    if (file.size > MAX_CA_BYTES) return false;
    form.setFieldValue(['ldap', 'caPem'], await file.text());
    return false;
  };

  return (
    <div id="sync-ldap-fields">
      <Divider orientation="left" plain>
        {t('sync.ldap.connection')}
      </Divider>
      <Form.Item name={['ldap', 'url']} label={t('sync.ldap.url')} rules={[{ required: true, pattern: /^ldaps?:\/\/[^/\s]+\/?$/, message: t('sync.ldap.urlRule') }]} extra={t('sync.ldap.urlHelp')}>
        <Input id="sync-ldap-url" placeholder="ldap://dc1.corp.example:389" />
      </Form.Item>
      <Form.Item name={['ldap', 'startTls']} label={t('sync.ldap.startTls')} valuePropName="checked" extra={url.startsWith('ldaps:') ? t('sync.ldap.startTlsLdaps') : t('sync.ldap.startTlsHelp')}>
        <Switch id="sync-ldap-starttls" disabled={url.startsWith('ldaps:')} />
      </Form.Item>
      <Form.Item label={t('sync.ldap.ca')} extra={t('sync.ldap.caHelp')}>
        <Space direction="vertical" style={{ width: '100%' }}>
          <Form.Item name={['ldap', 'caPem']} noStyle rules={[{ validator: async (_r, v: string) => (!v?.trim() || v.includes('-----BEGIN CERTIFICATE-----') ? undefined : Promise.reject(new Error(t('sync.ldap.caRule')))) }]}>
            <Input.TextArea id="sync-ldap-ca" rows={3} placeholder="-----BEGIN CERTIFICATE-----" style={{ fontFamily: 'monospace', fontSize: 12 }} />
          </Form.Item>
          <Upload accept=".pem,.crt,.cer" showUploadList={false} beforeUpload={readCa} maxCount={1}>
            <Button size="small" id="sync-ldap-ca-upload">
              {t('sync.ldap.caUpload')}
            </Button>
          </Upload>
        </Space>
      </Form.Item>

      <Divider orientation="left" plain>
        {t('sync.ldap.account')}
      </Divider>
      <Form.Item name={['ldap', 'bindDn']} label={t('sync.ldap.bindDn')} rules={[{ required: true, message: t('sync.required') }]}>
        <Input id="sync-ldap-binddn" placeholder="cn=sync,ou=services,dc=corp,dc=example" />
      </Form.Item>
      <Form.Item name={['secrets', 'bindPassword']} label={t('sync.ldap.bindPassword')} rules={passwordSet ? [] : [{ required: true, message: t('sync.required') }]}>
        <SecretField id="sync-ldap-password" isSet={passwordSet} />
      </Form.Item>
      <Form.Item name={['ldap', 'baseDn']} label={t('sync.ldap.baseDn')} rules={[{ required: true, message: t('sync.required') }]}>
        <Input id="sync-ldap-basedn" placeholder="ou=corp,dc=corp,dc=example" />
      </Form.Item>

      <Divider orientation="left" plain>
        {t('sync.ldap.mapping')}
      </Divider>
      <Form.Item label={t('sync.ldap.flavour')}>
        <Space wrap>
          <Form.Item name={['ldap', 'flavour']} noStyle>
            <Radio.Group id="sync-ldap-flavour" optionType="button">
              <Radio.Button value="openldap">OpenLDAP</Radio.Button>
              <Radio.Button value="ad">Active Directory</Radio.Button>
            </Radio.Group>
          </Form.Item>
          <Button id="sync-ldap-preset" onClick={fillPreset}>
            {t('sync.ldap.fillPreset')}
          </Button>
        </Space>
      </Form.Item>
      <Form.Item name={['ldap', 'userFilter']} label={t('sync.ldap.userFilter')} extra={t('sync.ldap.emptyPreset')}>
        <Input id="sync-ldap-userfilter" placeholder={preset.userFilter} style={{ fontFamily: 'monospace' }} />
      </Form.Item>
      <Row gutter={8}>
        {ATTR_KEYS.map((k) => (
          <Col span={12} key={k}>
            <Form.Item name={['ldap', 'attributes', k]} label={t(`sync.ldap.attr.${k}` as MessageKey)}>
              <Input id={`sync-ldap-attr-${k}`} placeholder={preset.attributes[k]} />
            </Form.Item>
          </Col>
        ))}
      </Row>
      <Typography.Paragraph type="secondary" style={{ marginTop: -8 }}>
        {t('sync.ldap.attrHelp')}
      </Typography.Paragraph>

      <Form.Item name={['ldap', 'deptMode']} label={t('sync.ldap.deptMode')}>
        <Radio.Group id="sync-ldap-deptmode">
          <Radio value="ou">{t('sync.ldap.deptMode.ou')}</Radio>
          <Radio value="attribute">{t('sync.ldap.deptMode.attribute')}</Radio>
        </Radio.Group>
      </Form.Item>
      {deptMode === 'attribute' ? (
        <Row gutter={8}>
          <Col span={16}>
            <Form.Item name={['ldap', 'deptAttribute']} label={t('sync.ldap.deptAttribute')}>
              <Input id="sync-ldap-deptattr" placeholder={preset.deptAttribute} />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item name={['ldap', 'deptPathSeparator']} label={t('sync.ldap.deptSeparator')}>
              <Input id="sync-ldap-deptsep" maxLength={4} />
            </Form.Item>
          </Col>
        </Row>
      ) : (
        <Form.Item name={['ldap', 'deptBaseDn']} label={t('sync.ldap.deptBaseDn')} extra={t('sync.ldap.deptBaseDnHelp')}>
          <Input id="sync-ldap-deptbase" />
        </Form.Item>
      )}
      <Form.Item name={['ldap', 'disabledFilter']} label={t('sync.ldap.disabledFilter')} extra={flavour === 'ad' ? t('sync.ldap.disabledHelpAd') : t('sync.ldap.disabledHelp')}>
        <Input id="sync-ldap-disabledfilter" placeholder="(nsAccountLock=TRUE)" style={{ fontFamily: 'monospace' }} />
      </Form.Item>
      <Form.Item name={['ldap', 'pageSize']} label={t('sync.ldap.pageSize')} extra={t('sync.ldap.pageSizeHelp')}>
        <InputNumber id="sync-ldap-pagesize" min={1} max={5000} precision={0} />
      </Form.Item>
    </div>
  );
}
