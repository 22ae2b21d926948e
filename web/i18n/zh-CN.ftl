# Shouwang — 简体中文 (default). Keep en.ftl in step: a test compares the ids.

app-name = 守望
app-tagline = 县域应急指挥调度平台

## Navigation
nav-menu = 菜单
nav-home = 首页
nav-duty-log = 值班日志
nav-org-units = 组织机构
nav-users = 用户
nav-roles = 角色与权限
nav-tokens = 接口令牌
nav-audit = 审计日志
nav-settings = 个人设置
logout = 退出
back-home = 返回首页
live-online = 实时
live-offline = 离线
live-reconnecting = 重连中…

## Roles
role-admin = 系统管理员
role-commander = 指挥长
role-duty-officer = 卡点值班员
role-enterprise-contact = 企业联络员
role-service-officer = 服务专员
role-township-cadre = 乡镇干部
role-viewer = 领导（只读）

## Rights
right-read = 查看
right-write = 填报
right-export = 导出
right-see-personal = 查看个人信息
right-approve = 审批
right-command = 指挥调度
right-administer = 系统管理

## Sign-in
login-title = 登录
login-submit = 登录
demo-logins = 演示账号
demo-logins-hint = 以下账号的密码均为 demo。

## Home
home-welcome = 您好，{ $name }
home-role = 角色
home-scope = 管辖范围
home-recent = 最新动态
home-no-events = 暂无动态

## Duty log
duty-log-add = 记一笔
duty-log-empty = 还没有值班记录
col-time = 时间

## Administration
col-state = 状态
col-issued = 签发时间
col-subject = 对象
col-details = 详情
list-separator = 、
org-units-add = 新增单位
users-add = 新建用户
users-you = （本人）
user-active = 正常
user-disabled = 已停用
user-enable = 启用
user-disable = 停用
roles-save = 保存
roles-deployment-only = 角色的权限在全域生效，只有顶级单位的系统管理员可以修改。
tokens-issue = 签发令牌
tokens-issued = 已为“{ $name }”签发新令牌。
tokens-shown-once = 令牌只显示这一次，离开本页后无法再查看，请立即复制并妥善保存：
tokens-usage = 设备或系统调用接口时，在请求头中携带：
tokens-name-hint = 例如：朱阳关卡点 2 号手机
tokens-empty = 还没有接口令牌
token-active = 有效
token-revoke = 吊销
token-revoked-at = 已于 { $time } 吊销
audit-filter = 筛选
audit-all-kinds = 全部类型
audit-empty = 没有符合条件的记录
audit-pages = 翻页
audit-newest = ← 最新
audit-older = 更早 →

## Settings
settings-language = 界面语言
settings-password = 修改密码
settings-password-hint = 修改成功后，本账号在所有设备上的登录都会失效，请用新密码重新登录。
settings-password-submit = 修改密码

## Fields
field-error = { $field }：{ $message }
field-username = 用户名
field-password = 密码
field-current-password = 当前密码
field-new-password = 新密码
field-display-name = 姓名
field-role = 角色
field-org-unit-id = 所属单位
field-parent-id = 上级单位
field-kind = 类型
field-code = 代码
field-name = 名称
field-body = 内容
field-id = 编号
field-limit = 条数
field-after = 起始编号
field-occurred-us = 发生时间
field-locale = 语言
field-lang = 语言
field-rights = 权限
field-user-id = 用户
field-actor = 操作人
field-token = 初始化口令
field-region-code = 行政区划代码
field-region-name = 行政区划名称
field-region-kind = 区划级别
field-scope = 范围
field-body-json = 请求体
field-before = 早于编号
field-new-password-again = 再次输入新密码

## Errors
error-required = 必填
error-too-short = 太短，至少 { $min } 个字符
error-too-long = 太长，最多 { $max } 个字符
error-length = 长度应为 { $min }–{ $max } 个字符
error-username-chars = 只能使用小写字母、数字和 . _ -，并以字母或数字开头
error-role-chars = 只能使用小写字母、数字和下划线
error-code-chars = 只能使用字母、数字、- 和 _
error-control-chars = 含有不可见的控制字符
error-password-weak = 密码太简单：不能与用户名相同，也不能全是同一个字符
error-invalid-choice = 不是可选的值（可选：{ $choices }）
error-invalid-uuid = 不是有效的 UUID
error-uuid-not-v7 = 应为客户端生成的 UUIDv7
error-invalid = 无效
error-not-found = 不存在
error-out-of-scope = 超出您的管辖范围
error-out-of-range = 超出范围（{ $min }–{ $max }）
error-time-out-of-range = 时间不合理：早于 2020 年或晚于当前时间一天以上
error-wrong-type = 类型不对（{ $detail }）
error-unknown-field = 不认识的字段
error-taken = 已被占用
error-kind-not-allowed-here = 这一类型的单位不能放在所选上级之下
error-cannot-disable-self = 不能停用自己的账号
error-admin-keeps-administer = 系统管理员角色必须保留“系统管理”权限
error-wrong-password = 密码不正确
error-setup-token-wrong = 初始化口令不正确或已失效，请使用启动时打印的链接
error-passwords-differ = 两次输入的密码不一致
error-unauthenticated = 请先登录
error-bad-credentials = 用户名或密码不正确
error-account-disabled = 该账号已停用
error-throttled = 登录失败次数过多，请 { $minutes } 分钟后再试
error-forbidden = 您没有权限执行此操作
error-csrf = 页面已过期，请刷新后重试
error-not-found-page = 找不到该页面或记录
error-too-large = 提交的内容太大
error-malformed = 请求格式不正确（{ $detail }）
error-internal = 服务器出错了，已记录，请稍后再试

## Events
event-user-created = 新建用户
event-user-updated = 修改用户
event-user-disabled = 停用用户
event-user-enabled = 启用用户
event-user-password-changed = 修改密码
event-auth-login = 登录
event-auth-login-failed = 登录失败
event-auth-logout = 退出
event-org-unit-created = 新建单位
event-org-unit-updated = 修改单位
event-role-updated = 修改角色
event-token-created = 签发令牌
event-token-revoked = 吊销令牌
event-duty-log-entry-added = 值班日志
event-data-exported = 数据导出
event-checkpoint-created = 新设卡点
event-checkpoint-updated = 修改卡点
event-checkpoint-status-changed = 卡点状态变更
event-checkpoint-staffing-changed = 在岗情况变化
event-shift-planned = 排班
event-shift-swapped = 换班
event-duty-checked-in = 上岗签到
event-duty-checked-out = 下岗签退
event-supply-moved = 物资变动
event-supply-low-stock = 物资告急
event-resupply-requested = 申请补给
event-resupply-approved = 补给已批准
event-resupply-rejected = 补给被驳回
event-resupply-dispatched = 补给已发出
event-resupply-received = 补给已签收
event-living-checked = 生活保障检查

## Setup
setup-title = 初始化
setup-hint = 创建本部署的顶级行政区划和第一个系统管理员。初始化口令见服务启动时打印的链接。
setup-submit = 创建并登录
kind-city = 市
kind-county = 县
kind-township = 乡镇
kind-village = 村/社区
kind-department = 部门

## Checkpoints and duty: errors and fields
error-checkpoint-code-chars = 只能使用大写字母、数字和 -
error-shift-pattern-syntax = 格式应为 3x8、2x12 或 08:00+12,20:00+12
error-shift-pattern-overlap = 班次时间相互重叠
error-ends-before-start = 结束时间应晚于开始时间
error-shift-too-long = 班次太长，最多 { $max } 小时
error-shift-overlaps = 此人已有时间重叠的班次
error-check-in-too-early = 离上班还早，最早提前一小时签到
error-shift-over = 这一班已经结束
error-whole-number = 应为整数
error-more-than-on-hand = 超出库存（现有 { $on_hand }）
error-invalid-transition = 当前状态“{ $from }”不能变为“{ $to }”
error-needs-a-person = 需要由具体人员操作
error-post-not-active = 卡点已暂停或关闭
error-unchanged = 与当前状态相同
error-leader-not-on-shift = 带班负责人必须在本班人员中
error-shift-exists = 该时段已有班次
error-not-on-shift = 您不在这一班
error-already-on-shift = 此人已在这一班
error-already-checked-in = 您已签到，请先签退
error-not-checked-in = 您还没有签到
error-cannot-move-post = 卡点不能改到其他单位
error-duplicate = 重复
error-every-aspect-once = 每一项都要回答一次
field-lat = 纬度
field-lon = 经度
field-address = 地址
field-required-staff = 每班应到人数
field-geofence-m = 签到范围（米）
field-shift-pattern = 班次安排
field-status = 状态
field-reason = 原因
field-starts-us = 开始时间
field-ends-us = 结束时间
field-leader-id = 带班负责人
field-staff = 值班人员
field-out-user-id = 换出人员
field-in-user-id = 换入人员
field-shift-id = 班次
field-item = 物资
field-item-key = 物资
field-quantity = 数量
field-note = 备注
field-approved-quantity = 批准数量
field-aspect = 项目
field-answers = 检查项
field-checkpoint-id = 卡点
field-state = 状态
