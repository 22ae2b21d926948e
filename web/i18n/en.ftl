# Shouwang — English. Keep zh-CN.ftl in step: a test compares the ids.

app-name = Shouwang
app-tagline = Command and dispatch for county emergency response

## Navigation
nav-menu = Menu
nav-home = Home
nav-duty-log = Duty log
nav-org-units = Org units
nav-users = Users
nav-roles = Roles and rights
nav-tokens = API tokens
nav-audit = Audit log
nav-settings = My settings
logout = Sign out
back-home = Back to home
live-online = Live
live-offline = Offline
live-reconnecting = Reconnecting…

## Roles
role-admin = Administrator
role-commander = Commander
role-duty-officer = Duty officer
role-enterprise-contact = Enterprise contact
role-service-officer = Service officer
role-township-cadre = Township cadre
role-viewer = Leader (read-only)

## Rights
right-read = Read
right-write = Write
right-export = Export
right-see-personal = See personal data
right-approve = Approve
right-command = Command
right-administer = Administer

## Sign-in
login-title = Sign in
login-submit = Sign in
demo-logins = Demo accounts
demo-logins-hint = Every account below has the password demo.

## Home
home-welcome = Hello, { $name }
home-role = Role
home-scope = Scope
home-recent = Latest activity
home-no-events = Nothing yet

## Duty log
duty-log-add = Add entry
duty-log-empty = No entries yet
col-time = Time

## Administration
col-state = State
col-issued = Issued
col-subject = Subject
col-details = Details
list-separator = {", "}
org-units-add = Add unit
users-add = Add user
users-you = (you)
user-active = Active
user-disabled = Disabled
user-enable = Enable
user-disable = Disable
roles-save = Save
roles-deployment-only = A role's rights apply everywhere: only administrators of the top-level unit may change them.
tokens-issue = Issue token
tokens-issued = A new token was issued for “{ $name }”.
tokens-shown-once = The token is shown this once and cannot be seen again after you leave this page. Copy it now and keep it safe:
tokens-usage = A device or system calling the API sends it in a request header:
tokens-name-hint = e.g. Zhuyangguan checkpoint, phone 2
tokens-empty = No API tokens yet
token-active = Active
token-revoke = Revoke
token-revoked-at = Revoked { $time }
audit-filter = Filter
audit-all-kinds = All kinds
audit-empty = Nothing matches
audit-pages = Pages
audit-newest = ← Newest
audit-older = Older →

## Settings
settings-language = Language
settings-password = Change password
settings-password-hint = Once it is changed, this account is signed out on every device: sign in again with the new password.
settings-password-submit = Change password

## Fields
field-error = { $field }: { $message }
field-username = Username
field-password = Password
field-current-password = Current password
field-new-password = New password
field-display-name = Name
field-role = Role
field-org-unit-id = Org unit
field-parent-id = Parent unit
field-kind = Kind
field-code = Code
field-name = Name
field-body = Text
field-id = Id
field-limit = Limit
field-after = After id
field-occurred-us = Time
field-locale = Language
field-lang = Language
field-rights = Rights
field-user-id = User
field-actor = Actor
field-token = Setup token
field-region-code = Region code
field-region-name = Region name
field-region-kind = Region level
field-scope = Scope
field-body-json = Body
field-before = Before id
field-new-password-again = New password again

## Errors
error-required = required
error-too-short = too short, at least { $min } characters
error-too-long = too long, at most { $max } characters
error-length = must be { $min }–{ $max } characters long
error-username-chars = only lower-case letters, digits and . _ -, starting with a letter or digit
error-role-chars = only lower-case letters, digits and underscores
error-code-chars = only letters, digits, - and _
error-control-chars = contains invisible control characters
error-password-weak = too weak: not the username, not one character repeated
error-invalid-choice = not one of the choices ({ $choices })
error-invalid-uuid = not a valid UUID
error-uuid-not-v7 = must be a client-made UUIDv7
error-invalid = invalid
error-not-found = does not exist
error-out-of-scope = outside your scope
error-out-of-range = out of range ({ $min }–{ $max })
error-time-out-of-range = implausible time: before 2020 or more than a day ahead
error-wrong-type = wrong type ({ $detail })
error-unknown-field = unknown field
error-taken = already taken
error-kind-not-allowed-here = a unit of this kind cannot sit under the chosen parent
error-cannot-disable-self = you cannot disable your own account
error-admin-keeps-administer = the admin role must keep the Administer right
error-wrong-password = wrong password
error-setup-token-wrong = the setup token is wrong or expired; use the link printed at start-up
error-passwords-differ = the two passwords differ
error-unauthenticated = please sign in
error-bad-credentials = wrong username or password
error-account-disabled = this account is disabled
error-throttled = too many failed sign-ins; try again in { $minutes } minutes
error-forbidden = you are not allowed to do this
error-csrf = the page has expired; reload it and try again
error-not-found-page = no such page or record
error-too-large = the request is too large
error-malformed = malformed request ({ $detail })
error-internal = something went wrong on the server; it has been logged, please try again later

## Events
event-user-created = User created
event-user-updated = User changed
event-user-disabled = User disabled
event-user-enabled = User enabled
event-user-password-changed = Password changed
event-auth-login = Signed in
event-auth-login-failed = Sign-in refused
event-auth-logout = Signed out
event-org-unit-created = Org unit created
event-org-unit-updated = Org unit changed
event-role-updated = Role changed
event-token-created = Token issued
event-token-revoked = Token revoked
event-duty-log-entry-added = Duty log
event-data-exported = Data exported
event-checkpoint-created = Checkpoint set up
event-checkpoint-updated = Checkpoint changed
event-checkpoint-status-changed = Checkpoint status changed
event-checkpoint-staffing-changed = Staffing changed
event-shift-planned = Shift planned
event-shift-swapped = Shift swap
event-duty-checked-in = Checked in
event-duty-checked-out = Checked out
event-supply-moved = Stock movement
event-supply-low-stock = Low stock
event-resupply-requested = Resupply requested
event-resupply-approved = Resupply approved
event-resupply-rejected = Resupply refused
event-resupply-dispatched = Resupply dispatched
event-resupply-received = Resupply received
event-living-checked = Living-conditions check

## Setup
setup-title = First start
setup-hint = Create this deployment's top region and its first administrator. The setup token is in the link printed when the server started.
setup-submit = Create and sign in
kind-city = City
kind-county = County
kind-township = Township
kind-village = Village
kind-department = Department

## Checkpoints and duty: errors and fields
error-checkpoint-code-chars = only capital letters, digits and -
error-shift-pattern-syntax = write 3x8, 2x12 or 08:00+12,20:00+12
error-shift-pattern-overlap = the shifts overlap
error-ends-before-start = must be after the start
error-shift-too-long = too long, at most { $max } hours
error-shift-overlaps = this person already has an overlapping shift
error-check-in-too-early = too early: check in at most an hour before the shift
error-shift-over = this shift is over
error-whole-number = must be a whole number
error-more-than-on-hand = more than on hand ({ $on_hand })
error-invalid-transition = cannot go from “{ $from }” to “{ $to }”
error-needs-a-person = must be done by a person
error-post-not-active = the post is suspended or closed
error-unchanged = already so
error-leader-not-on-shift = the leader must be one of the shift's staff
error-shift-exists = a shift already covers this time
error-not-on-shift = you are not on this shift
error-already-on-shift = already on this shift
error-already-checked-in = you are checked in already; check out first
error-not-checked-in = you are not checked in
error-cannot-move-post = a post cannot move to another unit
error-duplicate = given twice
error-every-aspect-once = answer every aspect once
field-lat = Latitude
field-lon = Longitude
field-address = Address
field-required-staff = Staff per shift
field-geofence-m = Check-in radius (m)
field-shift-pattern = Shift pattern
field-status = Status
field-reason = Reason
field-starts-us = Start
field-ends-us = End
field-leader-id = Shift leader
field-staff = Staff
field-out-user-id = Leaving
field-in-user-id = Joining
field-shift-id = Shift
field-item = Item
field-item-key = Item
field-quantity = Quantity
field-note = Note
field-approved-quantity = Approved quantity
field-aspect = Aspect
field-answers = Answers
field-checkpoint-id = Checkpoint
field-state = State
