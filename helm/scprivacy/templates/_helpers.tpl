{{/*
Names
*/}}

{{/* The chart name (nameOverride wins). */}}
{{- define "scprivacy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every resource name: "<release>-<chart>", or the release name alone when it already
contains the chart name. Kept to 40 characters so that "<prefix>-worker-<institution>" stays a
valid name for most institution names (Kubernetes labels stop at 63).
*/}}
{{- define "scprivacy.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "scprivacy.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The worker resources' name of one institution: call with (dict "root" $ "name" $name). */}}
{{- define "scprivacy.workerName" -}}
{{- printf "%s-worker-%s" (include "scprivacy.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels
*/}}

{{- define "scprivacy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scprivacy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "scprivacy.labels" -}}
helm.sh/chart: {{ include "scprivacy.chart" . }}
{{ include "scprivacy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: scprivacy
{{- with .Values.consortium.name }}
scprivacy.io/consortium: {{ . | quote }}
{{- end }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels of one component's resources: call with (dict "root" $ "component" "api"). */}}
{{- define "scprivacy.componentLabels" -}}
{{ include "scprivacy.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Selector of one component's pods: call with (dict "root" $ "component" "api"). */}}
{{- define "scprivacy.componentSelector" -}}
{{ include "scprivacy.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Selector of one institution's worker pod: call with (dict "root" $ "name" $name). */}}
{{- define "scprivacy.workerSelector" -}}
{{ include "scprivacy.selectorLabels" .root }}
app.kubernetes.io/component: trainer-worker
scprivacy.io/institution: {{ .name }}
{{- end }}

{{/*
Images
*/}}

{{- define "scprivacy.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "scprivacy.gpuImage" -}}
{{- $repository := default .Values.image.repository .Values.image.gpu.repository }}
{{- $tag := default (printf "%s-gpu" (default .Chart.AppVersion .Values.image.tag)) .Values.image.gpu.tag }}
{{- if .Values.image.gpu.digest }}
{{- printf "%s@%s" $repository .Values.image.gpu.digest }}
{{- else }}
{{- printf "%s:%s" $repository $tag }}
{{- end }}
{{- end }}

{{/*
Secrets: each credential's Secret name and key, either the existing Secret given in values or the
chart's "<fullname>-platform" Secret (secret.yaml).
*/}}

{{- define "scprivacy.platformSecretName" -}}
{{- printf "%s-platform" (include "scprivacy.fullname" .) }}
{{- end }}

{{/* True (non-empty) when the chart must create "<fullname>-platform". */}}
{{- define "scprivacy.needsPlatformSecret" -}}
{{- if or (not .Values.postgres.existingSecret) (not .Values.redis.existingSecret) (not .Values.s3.existingSecret) (not .Values.platform.existingSecret) }}true{{ end }}
{{- end }}

{{/* One env entry read from a Secret: call with (dict "env" NAME "secret" SECRET "key" KEY). */}}
{{- define "scprivacy.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end }}

{{- define "scprivacy.env.database" -}}
{{- if .Values.postgres.existingSecret }}
{{- include "scprivacy.secretEnv" (dict "env" "DATABASE_URL" "secret" .Values.postgres.existingSecret "key" .Values.postgres.existingSecretKey) }}
{{- else }}
{{- include "scprivacy.secretEnv" (dict "env" "DATABASE_URL" "secret" (include "scprivacy.platformSecretName" .) "key" "DATABASE_URL") }}
{{- end }}
{{- end }}

{{- define "scprivacy.env.redis" -}}
{{- if .Values.redis.existingSecret }}
{{- include "scprivacy.secretEnv" (dict "env" "REDIS_URL" "secret" .Values.redis.existingSecret "key" .Values.redis.existingSecretKey) }}
{{- else }}
{{- include "scprivacy.secretEnv" (dict "env" "REDIS_URL" "secret" (include "scprivacy.platformSecretName" .) "key" "REDIS_URL") }}
{{- end }}
{{- end }}

{{- define "scprivacy.env.s3" -}}
{{- if .Values.s3.existingSecret }}
{{- include "scprivacy.secretEnv" (dict "env" "S3_ACCESS_KEY" "secret" .Values.s3.existingSecret "key" .Values.s3.accessKeyKey) }}
{{ include "scprivacy.secretEnv" (dict "env" "S3_SECRET_KEY" "secret" .Values.s3.existingSecret "key" .Values.s3.secretKeyKey) }}
{{- else }}
{{- include "scprivacy.secretEnv" (dict "env" "S3_ACCESS_KEY" "secret" (include "scprivacy.platformSecretName" .) "key" "S3_ACCESS_KEY") }}
{{ include "scprivacy.secretEnv" (dict "env" "S3_SECRET_KEY" "secret" (include "scprivacy.platformSecretName" .) "key" "S3_SECRET_KEY") }}
{{- end }}
{{- end }}

{{- define "scprivacy.env.platform" -}}
{{- $secret := default (include "scprivacy.platformSecretName" .) .Values.platform.existingSecret }}
{{- $masterKey := ternary .Values.platform.masterKeyKey "SCPRIVACY_MASTER_KEY" (not (empty .Values.platform.existingSecret)) }}
{{- $adminToken := ternary .Values.platform.adminTokenKey "PLATFORM_ADMIN_TOKEN" (not (empty .Values.platform.existingSecret)) }}
{{- include "scprivacy.secretEnv" (dict "env" "SCPRIVACY_MASTER_KEY" "secret" $secret "key" $masterKey) }}
{{ include "scprivacy.secretEnv" (dict "env" "PLATFORM_ADMIN_TOKEN" "secret" $secret "key" $adminToken) }}
{{- end }}

{{/*
Pod pieces shared by every Deployment and the migration Job
*/}}

{{- define "scprivacy.podSecurityContext" -}}
{{ toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "scprivacy.securityContext" -}}
{{ toYaml .Values.securityContext }}
{{- end }}

{{/* The /tmp emptyDir: call with (dict "name" "tmp" "sizeLimit" SIZE). */}}
{{- define "scprivacy.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .sizeLimit }}
{{- end }}

{{/* An HTTP probe on the named port: call with (dict "probe" PROBE_VALUES "port" PORT_NAME). */}}
{{- define "scprivacy.httpProbe" -}}
httpGet:
  path: {{ .probe.path }}
  port: {{ .port }}
initialDelaySeconds: {{ .probe.initialDelaySeconds }}
periodSeconds: {{ .probe.periodSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
timeoutSeconds: {{ default 5 .probe.timeoutSeconds }}
{{- end }}

{{/* The api's in-cluster URL (what workers use as API_URL by default). */}}
{{- define "scprivacy.apiUrl" -}}
{{- if .Values.worker.apiUrl }}
{{- .Values.worker.apiUrl }}
{{- else }}
{{- printf "http://%s-api.%s.svc:%v" (include "scprivacy.fullname" .) .Release.Namespace .Values.api.service.port }}
{{- end }}
{{- end }}

{{/*
Mode: "consortium" (the platform and one worker per institution) or "site" (one institution's
worker, in the institution's own cluster). Every template asks for it, so a bad `mode` fails the
render whichever template Helm renders first.
*/}}
{{- define "scprivacy.mode" -}}
{{- $mode := toString .Values.mode }}
{{- if not (has $mode (list "consortium" "site")) }}
{{- fail (printf "mode %q: expected consortium (the platform and its workers) or site (one institution's worker)" $mode) }}
{{- end }}
{{- if eq $mode "consortium" }}
{{- if .Values.site.institution }}
{{- fail (printf "site.institution is set (%q) but mode is consortium: set mode: site to run that institution's worker, or remove the site block" (toString .Values.site.institution)) }}
{{- end }}
{{- end }}
{{- $mode }}
{{- end }}

{{/*
Validation: fails the render with a message naming the value to set.
*/}}

{{/* An institution's registered name: (dict "where" FIELD "name" NAME). */}}
{{- define "scprivacy.validateInstitutionName" -}}
{{- if not (regexMatch "^[a-z0-9][a-z0-9-]{0,62}$" (toString .name)) }}
{{- fail (printf "%s %q: expected lower-case letters, digits and dashes (as registered)" .where (toString .name)) }}
{{- end }}
{{- end }}

{{/* Site data comes from a claim or a host path: (dict "where" LABEL "siteData" SITE_DATA). */}}
{{- define "scprivacy.validateSiteData" -}}
{{- $siteData := default (dict) .siteData }}
{{- if and $siteData.existingClaim $siteData.hostPath }}
{{- fail (printf "%s: siteData takes existingClaim or hostPath, not both" .where) }}
{{- end }}
{{- if $siteData.subPath }}
{{- if not (or $siteData.existingClaim $siteData.hostPath) }}
{{- fail (printf "%s: siteData.subPath needs siteData.existingClaim or siteData.hostPath" .where) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Consortium mode. */}}
{{- define "scprivacy.validate" -}}
{{- if not (regexMatch "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$" (required "consortium.name is required (a DNS label naming the consortium)" .Values.consortium.name)) }}
{{- fail (printf "consortium.name %q: expected lower-case letters, digits and dashes" .Values.consortium.name) }}
{{- end }}
{{- /* Nested ifs, not `and`: Go templates before Go 1.18 evaluate every operand of `and`. */}}
{{- if not .Values.platform.existingSecret }}
{{- if .Values.platform.masterKey }}
{{- if lt (len (toString .Values.platform.masterKey)) 32 }}
{{- fail "platform.masterKey must be at least 32 characters long" }}
{{- end }}
{{- end }}
{{- if .Values.platform.adminToken }}
{{- if lt (len (toString .Values.platform.adminToken)) 16 }}
{{- fail "platform.adminToken must be at least 16 characters long" }}
{{- end }}
{{- end }}
{{- end }}
{{- if not (regexMatch "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$" (toString .Values.s3.bucket)) }}
{{- fail (printf "s3.bucket %q: expected an S3 bucket name (3-63 lower-case letters, digits, dots, dashes)" (toString .Values.s3.bucket)) }}
{{- end }}
{{- if not .Values.s3.endpoint }}
{{- fail "s3.endpoint is required (the S3/MinIO host name, without scheme or port)" }}
{{- end }}
{{- with .Values.s3.publicEndpoint }}
{{- if not (regexMatch "^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$" (toString .)) }}
{{- fail (printf "s3.publicEndpoint %q: expected https://host[:port] (the store's address as sites reach it; no path)" (toString .)) }}
{{- end }}
{{- end }}
{{- $seen := dict }}
{{- range $i, $inst := .Values.institutions }}
{{- $name := required (printf "institutions[%d].name is required" $i) $inst.name }}
{{- include "scprivacy.validateInstitutionName" (dict "where" (printf "institutions[%d].name" $i) "name" $name) }}
{{- if hasKey $seen $name }}
{{- fail (printf "institutions: %q is listed twice" $name) }}
{{- end }}
{{- $_ := set $seen $name true }}
{{- if not $inst.existingSecret }}
{{- fail (printf "institutions[%d] (%s): existingSecret is required (a Secret with %s, %s and %s)" $i $name $.Values.worker.redisUrlKey $.Values.worker.apiTokenKey $.Values.worker.keyPassphraseKey) }}
{{- end }}
{{- include "scprivacy.validateSiteData" (dict "where" (printf "institutions[%d] (%s)" $i $name) "siteData" $inst.siteData) }}
{{- end }}
{{- end }}

{{/* Site mode. */}}
{{- define "scprivacy.validateSite" -}}
{{- $site := .Values.site }}
{{- if .Values.institutions }}
{{- fail "institutions is for mode: consortium; in site mode the chart runs the one worker described by site (leave institutions empty)" }}
{{- end }}
{{- with .Values.consortium.name }}
{{- if not (regexMatch "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$" (toString .)) }}
{{- fail (printf "consortium.name %q: expected lower-case letters, digits and dashes (optional in site mode: a label only)" (toString .)) }}
{{- end }}
{{- end }}
{{- $name := required "site.institution is required in site mode (the institution's registered name)" $site.institution }}
{{- include "scprivacy.validateInstitutionName" (dict "where" "site.institution" "name" $name) }}
{{- $url := toString (required "site.apiUrl is required in site mode (the consortium's api, https://...)" $site.apiUrl) }}
{{- if not (regexMatch "^https?://[^/:?#\\s]+(:[0-9]{1,5})?(/[^\\s]*)?$" $url) }}
{{- fail (printf "site.apiUrl %q: expected the consortium api's URL, https://host[:port][/path]" $url) }}
{{- end }}
{{- if not (hasPrefix "https://" $url) }}
{{- if not $site.allowInsecureApi }}
{{- fail (printf "site.apiUrl %q: expected https:// (the site's API token travels with every request); set site.allowInsecureApi: true only for a test without TLS" $url) }}
{{- end }}
{{- end }}
{{- if not $site.existingSecret }}
{{- fail (printf "site.existingSecret is required in site mode (a Secret with %s, %s and %s, e.g. secret-site-%s.yaml from `scprivacy consortium add-site`)" .Values.worker.redisUrlKey .Values.worker.apiTokenKey .Values.worker.keyPassphraseKey $name) }}
{{- end }}
{{- include "scprivacy.validateSiteData" (dict "where" "site" "siteData" $site.siteData) }}
{{- range $field := list "redisPort" "s3Port" "apiPort" }}
{{- $port := index $site.egress $field }}
{{- if not (regexMatch "^[0-9]{1,5}$" (toString $port)) }}
{{- fail (printf "site.egress.%s %q: expected a TCP port number" $field (toString $port)) }}
{{- end }}
{{- if or (lt (int $port) 1) (gt (int $port) 65535) }}
{{- fail (printf "site.egress.%s %v: expected a TCP port number (1-65535)" $field $port) }}
{{- end }}
{{- end }}
{{- range $ca := list "redisCa" "extraCa" }}
{{- $value := default (dict) (index $site $ca) }}
{{- if $value.existingSecret }}
{{- if not (regexMatch "^[-._a-zA-Z0-9]+$" (toString $value.key)) }}
{{- fail (printf "site.%s.key %q: expected the key of the CA certificate in Secret %s (e.g. ca.crt)" $ca (toString $value.key) $value.existingSecret) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
NetworkPolicy egress rules
*/}}

{{/* DNS, to the configured peers or anywhere on port 53. */}}
{{- define "scprivacy.np.dns" -}}
{{- if .Values.networkPolicy.dns.enabled -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
  {{- with .Values.networkPolicy.dns.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* TCP ports to the given peers (any destination when none): (dict "ports" LIST "to" LIST). */}}
{{- define "scprivacy.np.egress" -}}
- ports:
    {{- range .ports }}
    - port: {{ int . }}
      protocol: TCP
    {{- end }}
  {{- with .to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
