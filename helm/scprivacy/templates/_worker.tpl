{{/*
One institution's trainer worker: its Deployment, ServiceAccount and state PVC. Both modes render
their workers through these templates (consortium mode: one per entry of `institutions`; site
mode: the one described by `site`), so a site's worker and a consortium's workers cannot drift
apart. Each takes
  root     the chart's root context ($)
  inst     the institution: an entry of `institutions`, or `site` with `name` set to site.institution
  where    how error messages name it ("institutions[0] (hospital-a)", "site")
  apiUrl   the worker's API_URL
  caFiles  a list of (dict "volume" NAME "secret" SECRET "key" KEY "env" VARIABLE): each Secret key
           is mounted read-only as /etc/scprivacy/<volume>/<key> and VARIABLE names that file
*/}}

{{/* The worker's resources: the institution's own or worker.resources, plus the GPU limit. */}}
{{- define "scprivacy.worker.resources" -}}
{{- $root := .root }}
{{- $inst := .inst }}
{{- $resources := deepCopy (default $root.Values.worker.resources $inst.resources) }}
{{- if $inst.gpu }}
{{- $limits := default (dict) $resources.limits }}
{{- $_ := set $limits "nvidia.com/gpu" (default $root.Values.worker.gpuCount $inst.gpuCount) }}
{{- $_ := set $resources "limits" $limits }}
{{- end }}
{{- toYaml $resources }}
{{- end }}

{{/* SCPRIVACY_BACKEND: tensorflow-gpu for a GPU worker, else the institution's or worker.backend. */}}
{{- define "scprivacy.worker.backend" -}}
{{- $backend := ternary "tensorflow-gpu" (default .root.Values.worker.backend .inst.backend) (not (not .inst.gpu)) }}
{{- if not (has $backend (list "auto" "tensorflow-gpu" "tensorflow" "wasm" "cpu")) }}
{{- fail (printf "%s: backend %q is not one of auto, tensorflow-gpu, tensorflow, wasm, cpu" .where $backend) }}
{{- end }}
{{- $backend }}
{{- end }}

{{- define "scprivacy.worker.deployment" -}}
{{- $root := .root }}
{{- $inst := .inst }}
{{- $name := $inst.name }}
{{- $workerName := include "scprivacy.workerName" (dict "root" $root "name" $name) }}
{{- $gpu := not (not $inst.gpu) }}
{{- $persistence := default (dict) $inst.persistence }}
{{- $siteData := default (dict) $inst.siteData }}
{{- $hasSiteData := or $siteData.existingClaim $siteData.hostPath }}
{{- $w := $root.Values.worker }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $workerName }}
  labels:
    {{- include "scprivacy.componentLabels" (dict "root" $root "component" "trainer-worker") | nindent 4 }}
    scprivacy.io/institution: {{ $name }}
spec:
  replicas: 1
  revisionHistoryLimit: 5
  strategy:
    type: Recreate
  selector:
    matchLabels:
      {{- include "scprivacy.workerSelector" (dict "root" $root "name" $name) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "scprivacy.workerSelector" (dict "root" $root "name" $name) | nindent 8 }}
        {{- with $root.Values.consortium.name }}
        scprivacy.io/consortium: {{ . | quote }}
        {{- end }}
        {{- with $inst.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with (merge (dict) (default (dict) $inst.podAnnotations) $root.Values.podAnnotations) }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ $workerName }}
      automountServiceAccountToken: false
      # Kubernetes restarts a container that exits or fails its liveness probe (with a back-off).
      restartPolicy: Always
      terminationGracePeriodSeconds: {{ $w.terminationGracePeriodSeconds }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "scprivacy.podSecurityContext" $root | nindent 8 }}
      containers:
        - name: trainer-worker
          image: {{ ternary (include "scprivacy.gpuImage" $root) (include "scprivacy.image" $root) $gpu | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: ["tini", "--", "node", "dist/trainer-worker/main.js"]
          ports:
            - name: health
              containerPort: {{ $w.healthPort }}
              protocol: TCP
          env:
            - name: NODE_ENV
              value: production
            - name: HOME
              value: /tmp
            - name: INSTITUTION
              value: {{ $name | quote }}
            {{- include "scprivacy.secretEnv" (dict "env" "WORKER_REDIS_URL" "secret" $inst.existingSecret "key" $w.redisUrlKey) | nindent 12 }}
            - name: API_URL
              value: {{ .apiUrl | quote }}
            {{- include "scprivacy.secretEnv" (dict "env" "API_TOKEN" "secret" $inst.existingSecret "key" $w.apiTokenKey) | nindent 12 }}
            {{- include "scprivacy.secretEnv" (dict "env" "WORKER_KEY_PASSPHRASE" "secret" $inst.existingSecret "key" $w.keyPassphraseKey) | nindent 12 }}
            - name: SCPRIVACY_BACKEND
              value: {{ include "scprivacy.worker.backend" . | quote }}
            - name: WORKER_STATE_DIR
              value: {{ $w.stateDir | quote }}
            {{- if $hasSiteData }}
            - name: SITE_DATA_DIR
              value: {{ $w.siteDataDir | quote }}
            {{- end }}
            - name: WORKER_HEALTH_PORT
              value: {{ $w.healthPort | int | quote }}
            {{- range .caFiles }}
            - name: {{ .env }}
              value: {{ printf "/etc/scprivacy/%s/%s" .volume .key | quote }}
            {{- end }}
            {{- with $w.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- with $inst.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          livenessProbe:
            {{- include "scprivacy.httpProbe" (dict "probe" $w.livenessProbe "port" "health") | nindent 12 }}
          readinessProbe:
            {{- include "scprivacy.httpProbe" (dict "probe" $w.readinessProbe "port" "health") | nindent 12 }}
          resources:
            {{- include "scprivacy.worker.resources" . | nindent 12 }}
          securityContext:
            {{- include "scprivacy.securityContext" $root | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            - name: state
              mountPath: {{ $w.stateDir }}
            {{- if $hasSiteData }}
            - name: site-data
              mountPath: {{ $w.siteDataDir }}
              readOnly: true
              {{- with $siteData.subPath }}
              subPath: {{ . }}
              {{- end }}
            {{- end }}
            {{- range .caFiles }}
            - name: {{ .volume }}
              mountPath: {{ printf "/etc/scprivacy/%s" .volume }}
              readOnly: true
            {{- end }}
      volumes:
        {{- include "scprivacy.tmpVolume" (dict "sizeLimit" (default $w.tmpSizeLimit $inst.tmpSizeLimit)) | nindent 8 }}
        - name: state
          persistentVolumeClaim:
            claimName: {{ default (printf "%s-state" $workerName) $persistence.existingClaim }}
        {{- if $siteData.existingClaim }}
        - name: site-data
          persistentVolumeClaim:
            claimName: {{ $siteData.existingClaim }}
            readOnly: true
        {{- else if $siteData.hostPath }}
        - name: site-data
          hostPath:
            path: {{ $siteData.hostPath }}
            type: Directory
        {{- end }}
        {{- /* A CA certificate is public: world-readable, and the volume holds only that key. */}}
        {{- range .caFiles }}
        - name: {{ .volume }}
          secret:
            secretName: {{ .secret }}
            defaultMode: 0444
            items:
              - key: {{ .key }}
                path: {{ .key }}
        {{- end }}
      {{- with (default $w.nodeSelector $inst.nodeSelector) }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with (default $w.tolerations $inst.tolerations) }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with (default $w.affinity $inst.affinity) }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{/*
The state volume (WORKER_STATE_DIR): the institution's private key, certificate and optimiser
checkpoints. ReadWriteOnce; kept on uninstall unless persistence.keep is false, since a lost
private key means certifying the institution again. Renders nothing with persistence.existingClaim.
*/}}
{{- define "scprivacy.worker.pvc" -}}
{{- $root := .root }}
{{- $inst := .inst }}
{{- $persistence := default (dict) $inst.persistence }}
{{- if not $persistence.existingClaim }}
{{- $keep := ternary $persistence.keep $root.Values.worker.persistence.keep (hasKey $persistence "keep") }}
{{- $storageClass := default $root.Values.worker.persistence.storageClass $persistence.storageClass }}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ include "scprivacy.workerName" (dict "root" $root "name" $inst.name) }}-state
  labels:
    {{- include "scprivacy.componentLabels" (dict "root" $root "component" "trainer-worker") | nindent 4 }}
    scprivacy.io/institution: {{ $inst.name }}
  {{- if $keep }}
  annotations:
    helm.sh/resource-policy: keep
  {{- end }}
spec:
  accessModes:
    - ReadWriteOnce
  {{- if $storageClass }}
  storageClassName: {{ $storageClass | quote }}
  {{- end }}
  resources:
    requests:
      storage: {{ default $root.Values.worker.persistence.size $persistence.size }}
{{- end }}
{{- end }}

{{/*
A ServiceAccount with no token mounted (no process of the chart talks to the Kubernetes API):
(dict "root" $ "name" NAME "component" COMPONENT "institution" NAME-OR-EMPTY).
*/}}
{{- define "scprivacy.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .name }}
  labels:
    {{- include "scprivacy.componentLabels" (dict "root" .root "component" .component) | nindent 4 }}
    {{- with .institution }}
    scprivacy.io/institution: {{ . }}
    {{- end }}
  {{- with .root.Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end }}
