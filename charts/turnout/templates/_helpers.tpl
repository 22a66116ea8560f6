{{/*
Shared names, labels and computed settings of the turnout chart.
Namespaced objects carry metadata.namespace explicitly: manifests/turnout.yaml is this chart rendered for
`kubectl apply -f`, which would otherwise drop everything into the caller's current namespace.
*/}}

{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "turnout.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Resource name prefix: release name plus chart name, unless the release name already contains it. */}}
{{- define "turnout.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Value of the helm.sh/chart label. */}}
{{- define "turnout.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels selecting the controller pods; they must never change between upgrades. */}}
{{- define "turnout.selectorLabels" -}}
app.kubernetes.io/name: {{ include "turnout.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{/* Labels shared by every object, without the component. */}}
{{- define "turnout.commonLabels" -}}
helm.sh/chart: {{ include "turnout.chart" . }}
app.kubernetes.io/name: {{ include "turnout.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: turnout
{{- end }}

{{/* Labels of controller objects (workload, Services, RBAC, IngressClass). */}}
{{- define "turnout.labels" -}}
{{ include "turnout.commonLabels" . }}
app.kubernetes.io/component: controller
{{- end }}

{{/* ServiceAccount used by the pods. */}}
{{- define "turnout.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "turnout.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Container image reference: a digest pins it, else the tag (default: appVersion). */}}
{{- define "turnout.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Lease name for leader election. */}}
{{- define "turnout.electionId" -}}
{{- default (printf "%s-leader" (include "turnout.fullname" .)) .Values.controller.electionId | trunc 253 }}
{{- end }}

{{/* namespace/name written to --publish-service, or empty when no Service address is published. */}}
{{- define "turnout.publishService" -}}
{{- $c := .Values.controller }}
{{- if and $c.publishService.enabled (not $c.publishStatusAddress) }}
{{- if $c.publishService.pathOverride }}
{{- $c.publishService.pathOverride }}
{{- else if .Values.service.enabled }}
{{- printf "%s/%s" .Release.Namespace (include "turnout.fullname" .) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Namespace -> resources turnout reads there besides controller.watchNamespace: the objects the
publish Service, default backend and default certificate flags name (rbac.scope=namespace).
*/}}
{{- define "turnout.namedObjectResources" -}}
{{- $c := .Values.controller }}
{{- $watch := $c.watchNamespace }}
{{- $out := dict }}
{{- with include "turnout.publishService" . }}
{{- $ns := first (splitList "/" .) }}
{{- if ne $ns $watch }}{{- $_ := set $out $ns (append (get $out $ns | default (list)) "services") }}{{- end }}
{{- end }}
{{- with $c.defaultBackendService }}
{{- $ns := first (splitList "/" .) }}
{{- if ne $ns $watch }}{{- $_ := set $out $ns (concat (get $out $ns | default (list)) (list "services" "endpointslices")) }}{{- end }}
{{- end }}
{{- with $c.defaultSslCertificate }}
{{- $ns := first (splitList "/" .) }}
{{- if ne $ns $watch }}{{- $_ := set $out $ns (append (get $out $ns | default (list)) "secrets") }}{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* The port clients reach HTTPS on, for HTTP-to-HTTPS redirects: the Service's (its node port for NodePort); empty when unknown. */}}
{{- define "turnout.httpsRedirectPort" -}}
{{- $s := .Values.service }}
{{- if $s.enabled }}
{{- if eq $s.type "NodePort" }}
{{- with $s.nodePorts.https }}{{ . }}{{ end }}
{{- else }}
{{- $s.ports.https }}
{{- end }}
{{- end }}
{{- end }}

{{/* Seconds added to shutdown delay + grace so the process can exit before the kubelet sends SIGKILL. */}}
{{- define "turnout.shutdownMarginSeconds" -}}
5
{{- end }}

{{/* terminationGracePeriodSeconds: computed from the shutdown settings, or the explicit value after checking it. */}}
{{- define "turnout.terminationGracePeriodSeconds" -}}
{{- $c := .Values.controller }}
{{- $needed := add $c.shutdownDelaySeconds $c.shutdownGraceSeconds (include "turnout.shutdownMarginSeconds" .) }}
{{- $explicit := .Values.terminationGracePeriodSeconds }}
{{- if kindIs "invalid" $explicit }}
{{- $needed }}
{{- else if lt (int $explicit) (int $needed) }}
{{- fail (printf "terminationGracePeriodSeconds=%v is too short: controller.shutdownDelaySeconds (%v) + controller.shutdownGraceSeconds (%v) + %v s margin = %v; raise it or leave it null" $explicit $c.shutdownDelaySeconds $c.shutdownGraceSeconds (include "turnout.shutdownMarginSeconds" .) $needed) }}
{{- else }}
{{- int $explicit }}
{{- end }}
{{- end }}

{{/* Checks of value combinations the schema cannot express; each failure names the values to change. */}}
{{- define "turnout.validate" -}}
{{- if and (eq .Values.kind "DaemonSet") .Values.autoscaling.enabled }}
{{- fail "autoscaling.enabled works with kind: Deployment only; a DaemonSet runs one pod per node" }}
{{- end }}
{{- if and (eq .Values.rbac.scope "namespace") (not .Values.controller.watchNamespace) }}
{{- fail "rbac.scope: namespace needs controller.watchNamespace, the namespace the Role is granted in" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas (%v) is above autoscaling.maxReplicas (%v)" .Values.autoscaling.minReplicas .Values.autoscaling.maxReplicas) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (kindIs "invalid" .Values.autoscaling.targetCPUUtilizationPercentage) (kindIs "invalid" .Values.autoscaling.targetMemoryUtilizationPercentage) }}
{{- fail "autoscaling.enabled needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" }}
{{- end }}
{{- end }}

{{/* RBAC rules for the namespaced objects turnout watches, Ingress status it writes and Events it records. */}}
{{- define "turnout.watchRules" -}}
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["list", "watch"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["services", "secrets"]
  verbs: ["list", "watch"]
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end }}
