import { Alert, Button, Form, Input, Select, Space, Spin, Typography, Upload, App as AntApp } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import {
  describeError, isHttpUrl, isStale, MAX_BANNER_BYTES, MAX_BANNERS, MAX_TITLE_CHARS, uploadBanner, type BannerImageView, type BannerView, type WorkbenchSettingsView,
} from './shared';

/** The workbench's title and banners (GET/PUT /workbench; F-4.1): built-in or uploaded images, in order, each with an optional link. */
export function WorkbenchPanel() {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [data, setData] = useState<WorkbenchSettingsView | null>(null);
  const [title, setTitle] = useState('');
  const [banners, setBanners] = useState<BannerView[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  const load = useCallback(() => {
    api<WorkbenchSettingsView>('GET', '/workbench').then(
      (v) => {
        setData(v);
        setTitle(v.title);
        setBanners(v.banners);
      },
      (err: unknown) => setError(errorMessage(err)),
    );
  }, []);
  useEffect(load, [load]);

  if (!data) return error ? <Alert type="error" showIcon message={error} /> : <Spin />;
  const ro = !data.editable;
  const titleOk = [...title.trim()].length >= 1 && [...title.trim()].length <= MAX_TITLE_CHARS;
  const linksOk = banners.every((b) => !b.link || isHttpUrl(b.link));

  const move = (i: number, d: -1 | 1) => setBanners((cur) => {
    const next = [...cur];
    const [x] = next.splice(i, 1);
    next.splice(i + d, 0, x as BannerView);
    return next;
  });
  const setLink = (i: number, link: string) => setBanners((cur) => cur.map((b, j) => (j === i ? { ...b, link } : b)));

  const upload = async (file: File) => {
    setError(null);
    if (file.size > MAX_BANNER_BYTES) return setError(t('portal.tooLarge'));
    try {
      const img = await uploadBanner<BannerImageView>(file);
      setBanners((cur) => [...cur, { image: img.image, url: img.url, link: null }]);
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  const save = async () => {
    setSaving(true);
    setError(null);
    try {
      const next = await api<WorkbenchSettingsView>('PUT', '/workbench', {
        body: { version: data.version, title: title.trim(), banners: banners.map((b) => ({ image: b.image, link: b.link?.trim() ? b.link.trim() : null })) },
      });
      setData(next);
      setTitle(next.title);
      setBanners(next.banners);
      void message.success(t('portal.saved'));
    } catch (err) {
      setError(describeError(err, t));
      if (isStale(err)) load();
    } finally {
      setSaving(false);
    }
  };

  return (
    <Form layout="vertical" style={{ maxWidth: 760 }}>
      {ro && <Alert type="info" showIcon style={{ marginBottom: 12 }} message={t('portal.readOnly')} />}
      <Form.Item label={t('portal.title')} extra={t('portal.titleHint')} validateStatus={titleOk ? undefined : 'error'} help={titleOk ? undefined : t('portal.titleRequired')}>
        <Input id="portal-title" value={title} disabled={ro} onChange={(e) => setTitle(e.target.value)} showCount={{ formatter: ({ value }) => `${[...value].length} / ${MAX_TITLE_CHARS}` }} />
      </Form.Item>
      <Form.Item label={t('portal.banners')} extra={t('portal.bannersHint', { max: MAX_BANNERS })}>
        <div id="portal-banners">
          {banners.length === 0 && <Typography.Text type="secondary">{t('portal.noBanners')}</Typography.Text>}
          {banners.map((b, i) => (
            <Space key={`${b.image}-${i}`} className="portal-banner" data-image={b.image} align="center" style={{ display: 'flex', marginBottom: 8 }}>
              <img src={b.url} alt={b.image} style={{ width: 150, height: 60, objectFit: 'cover', borderRadius: 4, border: '1px solid #f0f0f0' }} />
              <Input
                className="portal-banner-link"
                style={{ width: 300 }}
                placeholder={t('portal.link')}
                value={b.link ?? ''}
                disabled={ro}
                status={b.link && !isHttpUrl(b.link) ? 'error' : undefined}
                onChange={(e) => setLink(i, e.target.value)}
              />
              <Button size="small" className="portal-banner-up" disabled={ro || i === 0} onClick={() => move(i, -1)}>{t('portal.up')}</Button>
              <Button size="small" className="portal-banner-down" disabled={ro || i === banners.length - 1} onClick={() => move(i, 1)}>{t('portal.down')}</Button>
              <Button size="small" className="portal-banner-remove" danger disabled={ro} onClick={() => setBanners((cur) => cur.filter((_, j) => j !== i))}>{t('portal.remove')}</Button>
            </Space>
          ))}
          {!linksOk && <Typography.Text type="danger">{t('portal.linkBad')}</Typography.Text>}
        </div>
      </Form.Item>
      {!ro && (
        <Space style={{ marginBottom: 16 }} wrap>
          <Select<string>
            id="portal-add-default"
            style={{ width: 260 }}
            placeholder={t('portal.addDefault')}
            value={null as unknown as string}
            disabled={banners.length >= MAX_BANNERS}
            onChange={(image) => {
              const d = data.defaults.find((x) => x.image === image);
              if (d) setBanners((cur) => [...cur, { image: d.image, url: d.url, link: null }]);
            }}
            options={data.defaults.map((d) => ({
              value: d.image,
              label: <Space><img src={d.url} alt={d.image} style={{ width: 80, height: 32, objectFit: 'cover' }} />{d.image}</Space>,
            }))}
          />
          <Upload
            accept="image/png,image/jpeg"
            showUploadList={false}
            disabled={banners.length >= MAX_BANNERS}
            beforeUpload={(file) => {
              void upload(file);
              return false;
            }}
          >
            <Button id="portal-upload" disabled={banners.length >= MAX_BANNERS}>{t('portal.upload')}</Button>
          </Upload>
        </Space>
      )}
      {error && <Alert id="portal-workbench-error" type="error" showIcon style={{ marginBottom: 12 }} message={error} />}
      {!ro && (
        <div>
          <Button id="portal-workbench-save" type="primary" loading={saving} disabled={!titleOk || !linksOk} onClick={() => void save()}>
            {t('portal.save')}
          </Button>
        </div>
      )}
    </Form>
  );
}
