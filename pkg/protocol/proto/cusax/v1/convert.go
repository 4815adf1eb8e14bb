package cusaxv1

import (
	"math"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// Conversions between the domain types of package protocol and their wire
// form. Generated types never leave this package.

func unixNS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNS(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func infoToWire(i protocol.Info) *PluginInfo {
	caps := make([]string, len(i.Capabilities))
	for n, c := range i.Capabilities {
		caps[n] = string(c)
	}
	return &PluginInfo{Kind: string(i.Kind), Name: i.Name, Version: i.Version, ApiVersion: int32(i.APIVersion), Capabilities: caps, Description: i.Description}
}

func infoFromWire(w *PluginInfo) protocol.Info {
	caps := make([]protocol.Capability, len(w.GetCapabilities()))
	for n, c := range w.GetCapabilities() {
		caps[n] = protocol.Capability(c)
	}
	return protocol.Info{Kind: protocol.Kind(w.GetKind()), Name: w.GetName(), Version: w.GetVersion(), APIVersion: int(w.GetApiVersion()), Capabilities: caps, Description: w.GetDescription()}
}

func connectToWire(r protocol.ConnectRequest) *ConnectRequest {
	return &ConnectRequest{
		Address: r.Address, Username: r.Username, Password: r.Password, Server: r.Server,
		DirectTls: r.DirectTLS, CaPem: r.CAPEM, AllowPlaintext: r.AllowPlaintext,
		Mechanisms: r.Mechanisms, Resource: r.Resource, TimeoutNs: int64(r.Timeout), Options: r.Options, MinTls: r.MinTLS,
	}
}

func connectFromWire(w *ConnectRequest) protocol.ConnectRequest {
	return protocol.ConnectRequest{
		Address: w.GetAddress(), Username: w.GetUsername(), Password: w.GetPassword(), Server: w.GetServer(),
		DirectTLS: w.GetDirectTls(), CAPEM: w.GetCaPem(), AllowPlaintext: w.GetAllowPlaintext(),
		Mechanisms: w.GetMechanisms(), Resource: w.GetResource(), Timeout: time.Duration(w.GetTimeoutNs()), Options: w.GetOptions(), MinTLS: w.GetMinTls(),
	}
}

func certToWire(c protocol.CertInfo) *CertInfo {
	return &CertInfo{
		Subject: c.Subject, Issuer: c.Issuer, NotBeforeUnixNs: unixNS(c.NotBefore), NotAfterUnixNs: unixNS(c.NotAfter),
		Sha256: c.SHA256, DnsNames: c.DNSNames, Uris: c.URIs, IpAddresses: c.IPAddresses, XmppAddrs: c.XMPPAddrs,
		SrvNames: c.SRVNames, KeyAlgorithm: c.KeyAlgorithm, SignatureAlgorithm: c.SignatureAlg, IsCa: c.IsCA, Der: c.DER,
	}
}

func certFromWire(w *CertInfo) protocol.CertInfo {
	return protocol.CertInfo{
		Subject: w.GetSubject(), Issuer: w.GetIssuer(), NotBefore: fromUnixNS(w.GetNotBeforeUnixNs()), NotAfter: fromUnixNS(w.GetNotAfterUnixNs()),
		SHA256: w.GetSha256(), DNSNames: w.GetDnsNames(), URIs: w.GetUris(), IPAddresses: w.GetIpAddresses(), XMPPAddrs: w.GetXmppAddrs(),
		SRVNames: w.GetSrvNames(), KeyAlgorithm: w.GetKeyAlgorithm(), SignatureAlg: w.GetSignatureAlgorithm(), IsCA: w.GetIsCa(), DER: w.GetDer(),
	}
}

func reportToWire(r protocol.ConnectionReport) *ConnectionReport {
	w := &ConnectionReport{
		Aspect: string(r.Aspect), Backend: r.Backend, State: r.State, Address: r.Address, Server: r.Server,
		Transport: r.Transport, Encrypted: r.Encrypted, AuthMechanism: r.AuthMechanism, AuthOffered: r.AuthOffered,
		StarttlsAdvertised: r.StartTLSAdvertised, StarttlsAttempted: r.StartTLSAttempted,
		ExpiresNs: int64(r.Expires), ElapsedNs: int64(r.Elapsed), Notes: r.Notes,
	}
	if t := r.TLS; t != nil {
		w.Tls = &TLSInfo{Version: t.Version, CipherSuite: t.CipherSuite, ServerName: t.ServerName, Alpn: t.ALPN, Verified: t.Verified, ServerAuth: t.ServerAuth}
		for _, c := range t.Chain {
			w.Tls.Chain = append(w.Tls.Chain, certToWire(c))
		}
	}
	return w
}

func reportFromWire(w *ConnectionReport) protocol.ConnectionReport {
	r := protocol.ConnectionReport{
		Aspect: protocol.Aspect(w.GetAspect()), Backend: w.GetBackend(), State: w.GetState(), Address: w.GetAddress(), Server: w.GetServer(),
		Transport: w.GetTransport(), Encrypted: w.GetEncrypted(), AuthMechanism: w.GetAuthMechanism(), AuthOffered: w.GetAuthOffered(),
		StartTLSAdvertised: w.GetStarttlsAdvertised(), StartTLSAttempted: w.GetStarttlsAttempted(),
		Expires: time.Duration(w.GetExpiresNs()), Elapsed: time.Duration(w.GetElapsedNs()), Notes: w.GetNotes(),
	}
	if t := w.GetTls(); t != nil {
		r.TLS = &protocol.TLSInfo{Version: t.GetVersion(), CipherSuite: t.GetCipherSuite(), ServerName: t.GetServerName(), ALPN: t.GetAlpn(), Verified: t.GetVerified(), ServerAuth: t.GetServerAuth()}
		for _, c := range t.GetChain() {
			r.TLS.Chain = append(r.TLS.Chain, certFromWire(c))
		}
	}
	return r
}

func rosterToWire(items []protocol.RosterItem) *RosterResponse {
	w := &RosterResponse{}
	for _, it := range items {
		w.Items = append(w.Items, &RosterItem{Jid: it.JID, Name: it.Name, Subscription: it.Subscription, Groups: it.Groups, Ask: it.Ask})
	}
	return w
}

func rosterFromWire(w *RosterResponse) []protocol.RosterItem {
	out := make([]protocol.RosterItem, 0, len(w.GetItems()))
	for _, it := range w.GetItems() {
		out = append(out, protocol.RosterItem{JID: it.GetJid(), Name: it.GetName(), Subscription: it.GetSubscription(), Groups: it.GetGroups(), Ask: it.GetAsk()})
	}
	return out
}

func reachToWire(in []protocol.ReachAddress) []*ReachAddress {
	out := make([]*ReachAddress, 0, len(in))
	for _, a := range in {
		out = append(out, &ReachAddress{Uri: a.URI, Desc: a.Desc, Source: a.Source})
	}
	return out
}

func reachFromWire(in []*ReachAddress) []protocol.ReachAddress {
	out := make([]protocol.ReachAddress, 0, len(in))
	for _, a := range in {
		out = append(out, protocol.ReachAddress{URI: a.GetUri(), Desc: a.GetDesc(), Source: a.GetSource()})
	}
	return out
}

func presenceToWire(p protocol.Presence) *Presence {
	return &Presence{From: p.From, Type: p.Type, Show: p.Show, Status: p.Status, Priority: int32(p.Priority), Reach: reachToWire(p.Reach)}
}

func presenceFromWire(w *Presence) protocol.Presence {
	return protocol.Presence{From: w.GetFrom(), Type: w.GetType(), Show: w.GetShow(), Status: w.GetStatus(), Priority: int(w.GetPriority()), Reach: reachFromWire(w.GetReach())}
}

func messageToWire(m protocol.Message) *Message {
	return &Message{Id: m.ID, From: m.From, To: m.To, Type: m.Type, Body: m.Body, Thread: m.Thread, TimeUnixNs: unixNS(m.Time), Error: m.Error,
		Seq: m.Seq, DelayUnixNs: unixNS(m.Delay), StableId: m.StableID}
}

func messageFromWire(w *Message) protocol.Message {
	return protocol.Message{ID: w.GetId(), From: w.GetFrom(), To: w.GetTo(), Type: w.GetType(), Body: w.GetBody(), Thread: w.GetThread(), Time: fromUnixNS(w.GetTimeUnixNs()), Error: w.GetError(),
		Seq: w.GetSeq(), Delay: fromUnixNS(w.GetDelayUnixNs()), StableID: w.GetStableId()}
}

func vcardToWire(v protocol.VCard) *VCard {
	return &VCard{Jid: v.JID, Text: v.Text, Source: v.Source, FetchedUnixNs: unixNS(v.Fetched)}
}

func vcardFromWire(w *VCard) protocol.VCard {
	return protocol.VCard{JID: w.GetJid(), Text: w.GetText(), Source: w.GetSource(), Fetched: fromUnixNS(w.GetFetchedUnixNs())}
}

func roomToWire(r protocol.Room) *Room {
	return &Room{Jid: r.JID, Subject: r.Subject, Occupants: r.Occupants}
}

func roomFromWire(w *Room) protocol.Room {
	return protocol.Room{JID: w.GetJid(), Subject: w.GetSubject(), Occupants: w.GetOccupants()}
}

func discoToWire(d protocol.DiscoInfo) *DiscoInfo {
	w := &DiscoInfo{Jid: d.JID, Node: d.Node, Features: d.Features}
	for _, id := range d.Identities {
		w.Identities = append(w.Identities, &DiscoIdentity{Category: id.Category, Type: id.Type, Name: id.Name})
	}
	for _, f := range d.Forms {
		wf := &DataForm{FormType: f.FormType, Fields: map[string]*FieldValues{}}
		for k, v := range f.Fields {
			wf.Fields[k] = &FieldValues{Values: v}
		}
		w.Forms = append(w.Forms, wf)
	}
	return w
}

func discoFromWire(w *DiscoInfo) protocol.DiscoInfo {
	d := protocol.DiscoInfo{JID: w.GetJid(), Node: w.GetNode(), Features: w.GetFeatures()}
	for _, id := range w.GetIdentities() {
		d.Identities = append(d.Identities, protocol.DiscoIdentity{Category: id.GetCategory(), Type: id.GetType(), Name: id.GetName()})
	}
	for _, f := range w.GetForms() {
		df := protocol.DataForm{FormType: f.GetFormType(), Fields: map[string][]string{}}
		for k, v := range f.GetFields() {
			df.Fields[k] = v.GetValues()
		}
		d.Forms = append(d.Forms, df)
	}
	return d
}

func dialToWire(sessionID string, r protocol.DialRequest) *DialRequest {
	w := &DialRequest{SessionId: sessionID, Target: r.Target, DisplayName: r.DisplayName, Anonymous: r.Anonymous,
		Media: &MediaOptions{PlayFile: r.Media.PlayFile, RecordFile: r.Media.RecordFile, Dtmf: r.Media.DTMF,
			DurationNs: int64(r.Media.Duration), RingTimeoutNs: int64(r.Media.RingTimeout), Video: r.Media.Video,
			Encryption: r.Media.Encryption, Keying: r.Media.Keying}}
	for _, h := range r.Headers {
		w.Headers = append(w.Headers, &Header{Name: h.Name, Value: h.Value})
	}
	return w
}

func dialFromWire(w *DialRequest) protocol.DialRequest {
	m := w.GetMedia()
	r := protocol.DialRequest{Target: w.GetTarget(), DisplayName: w.GetDisplayName(), Anonymous: w.GetAnonymous(),
		Media: protocol.MediaOptions{PlayFile: m.GetPlayFile(), RecordFile: m.GetRecordFile(), DTMF: m.GetDtmf(),
			Duration: time.Duration(m.GetDurationNs()), RingTimeout: time.Duration(m.GetRingTimeoutNs()), Video: m.GetVideo(),
			Encryption: m.GetEncryption(), Keying: m.GetKeying()}}
	for _, h := range w.GetHeaders() {
		r.Headers = append(r.Headers, protocol.Header{Name: h.GetName(), Value: h.GetValue()})
	}
	return r
}

func callEventToWire(e protocol.CallEvent) *CallEvent {
	return &CallEvent{CallId: e.CallID, StatusCode: int32(e.StatusCode), Reason: e.Reason, Answered: e.Answered, Final: e.Final,
		SetupNs: int64(e.SetupTime), DurationNs: int64(e.Duration), RtpSent: e.RTPSent, RtpReceived: e.RTPRecv, DtmfSent: e.DTMFSent,
		Codec: e.Codec, MediaPeer: e.MediaPeer, RecordedSamples: e.RecordedSamples, Note: e.Note,
		MediaProtection: e.MediaProtection, MediaKeying: e.MediaKeying, SrtpAuthFailures: e.SRTPAuthFailures}
}

func callEventFromWire(w *CallEvent) protocol.CallEvent {
	return protocol.CallEvent{CallID: w.GetCallId(), StatusCode: int(w.GetStatusCode()), Reason: w.GetReason(), Answered: w.GetAnswered(), Final: w.GetFinal(),
		SetupTime: time.Duration(w.GetSetupNs()), Duration: time.Duration(w.GetDurationNs()), RTPSent: w.GetRtpSent(), RTPRecv: w.GetRtpReceived(), DTMFSent: w.GetDtmfSent(),
		Codec: w.GetCodec(), MediaPeer: w.GetMediaPeer(), RecordedSamples: w.GetRecordedSamples(), Note: w.GetNote(),
		MediaProtection: w.GetMediaProtection(), MediaKeying: w.GetMediaKeying(), SRTPAuthFailures: w.GetSrtpAuthFailures()}
}

func answerToWire(sessionID string, r protocol.AnswerRequest) *AnswerRequest {
	return &AnswerRequest{SessionId: sessionID, CallId: r.CallID, RingNs: int64(r.Ring), PlayFile: r.PlayFile, RecordFile: r.RecordFile,
		SendDtmf: r.SendDTMF, Digits: int32(min(r.Digits, math.MaxInt32)), Until: r.Until, DigitTimeoutNs: int64(r.DigitTimeout),
		DurationNs: int64(r.Duration), SilenceHangupNs: int64(r.SilenceHangup), Encryption: r.Encryption}
}

func answerFromWire(w *AnswerRequest) protocol.AnswerRequest {
	return protocol.AnswerRequest{CallID: w.GetCallId(), Ring: time.Duration(w.GetRingNs()), PlayFile: w.GetPlayFile(), RecordFile: w.GetRecordFile(),
		SendDTMF: w.GetSendDtmf(), Digits: int(w.GetDigits()), Until: w.GetUntil(), DigitTimeout: time.Duration(w.GetDigitTimeoutNs()),
		Duration: time.Duration(w.GetDurationNs()), SilenceHangup: time.Duration(w.GetSilenceHangupNs()), Encryption: w.GetEncryption()}
}

func answerEventToWire(e protocol.AnswerEvent) *AnswerEvent {
	return &AnswerEvent{CallId: e.CallID, Kind: e.Kind, Digit: e.Digit, Via: e.Via, Final: e.Final, StatusCode: int32(e.StatusCode),
		Reason: e.Reason, Answered: e.Answered, HungUpBy: e.HungUpBy, DurationNs: int64(e.Duration), Digits: e.Digits,
		RtpSent: e.RTPSent, RtpReceived: e.RTPRecv, Codec: e.Codec, MediaPeer: e.MediaPeer, RecordedSamples: e.RecordedSamples, Note: e.Note,
		MediaProtection: e.MediaProtection, MediaKeying: e.MediaKeying, SrtpAuthFailures: e.SRTPAuthFailures}
}

func answerEventFromWire(w *AnswerEvent) protocol.AnswerEvent {
	return protocol.AnswerEvent{CallID: w.GetCallId(), Kind: w.GetKind(), Digit: w.GetDigit(), Via: w.GetVia(), Final: w.GetFinal(),
		StatusCode: int(w.GetStatusCode()), Reason: w.GetReason(), Answered: w.GetAnswered(), HungUpBy: w.GetHungUpBy(),
		Duration: time.Duration(w.GetDurationNs()), Digits: w.GetDigits(), RTPSent: w.GetRtpSent(), RTPRecv: w.GetRtpReceived(),
		Codec: w.GetCodec(), MediaPeer: w.GetMediaPeer(), RecordedSamples: w.GetRecordedSamples(), Note: w.GetNote(),
		MediaProtection: w.GetMediaProtection(), MediaKeying: w.GetMediaKeying(), SRTPAuthFailures: w.GetSrtpAuthFailures()}
}

func incomingToWire(c protocol.IncomingCall) *IncomingCall {
	w := &IncomingCall{CallId: c.CallID, Raw: c.Raw, Source: c.Source, TimeUnixNs: unixNS(c.Time), ViaProxy: c.ViaProxy,
		Missed: c.Missed, MissedCallIds: c.MissedCallIDs}
	if r := c.Registration; r != nil {
		w.Registration = &RegistrationEvent{State: r.State, Reason: r.Reason, Address: r.Address, Server: r.Server,
			Transport: r.Transport, DownNs: int64(r.Down), RetryNs: int64(r.Retry)}
	}
	return w
}

func incomingFromWire(w *IncomingCall) protocol.IncomingCall {
	c := protocol.IncomingCall{CallID: w.GetCallId(), Raw: w.GetRaw(), Source: w.GetSource(), Time: fromUnixNS(w.GetTimeUnixNs()), ViaProxy: w.GetViaProxy(),
		Missed: w.GetMissed(), MissedCallIDs: w.GetMissedCallIds()}
	if r := w.GetRegistration(); r != nil {
		c.Registration = &protocol.RegistrationEvent{State: r.GetState(), Reason: r.GetReason(), Address: r.GetAddress(), Server: r.GetServer(),
			Transport: r.GetTransport(), Down: time.Duration(r.GetDownNs()), Retry: time.Duration(r.GetRetryNs())}
	}
	return c
}

func decisionToWire(d protocol.Decision) *Decision {
	return &Decision{Verdict: string(d.Verdict), Choice: d.Choice, Reason: d.Reason, Policy: d.Policy}
}

func decisionFromWire(w *Decision) protocol.Decision {
	return protocol.Decision{Verdict: protocol.Verdict(w.GetVerdict()), Choice: w.GetChoice(), Reason: w.GetReason(), Policy: w.GetPolicy()}
}

// priorToWire leaves an empty Prior unset, as a plugin built before Prior
// existed would send it.
func priorToWire(p protocol.Prior) *PriorDecision {
	if p == (protocol.Prior{}) {
		return nil
	}
	return &PriorDecision{Verdict: string(p.Verdict), Choice: p.Choice, Reason: p.Reason, Policy: p.Policy}
}

func priorFromWire(w *PriorDecision) protocol.Prior {
	return protocol.Prior{Verdict: protocol.Verdict(w.GetVerdict()), Choice: w.GetChoice(), Reason: w.GetReason(), Policy: w.GetPolicy()}
}

func chooseToWire(r protocol.ChooseAccountRequest) *ChooseAccountRequest {
	w := &ChooseAccountRequest{Target: r.Target, ContactAccount: r.ContactAccount, Interactive: r.Interactive, Requested: r.Requested, Prior: priorToWire(r.Prior)}
	for _, c := range r.Candidates {
		w.Candidates = append(w.Candidates, &AccountCandidate{Name: c.Name, Telephony: c.Telephony, Related: c.Related, Jid: c.JID, Aor: c.AOR, IsDefault: c.IsDefault})
	}
	return w
}

func chooseFromWire(w *ChooseAccountRequest) protocol.ChooseAccountRequest {
	r := protocol.ChooseAccountRequest{Target: w.GetTarget(), ContactAccount: w.GetContactAccount(), Interactive: w.GetInteractive(), Requested: w.GetRequested(), Prior: priorFromWire(w.GetPrior())}
	for _, c := range w.GetCandidates() {
		r.Candidates = append(r.Candidates, protocol.AccountCandidate{Name: c.GetName(), Telephony: c.GetTelephony(), Related: c.GetRelated(), JID: c.GetJid(), AOR: c.GetAor(), IsDefault: c.GetIsDefault()})
	}
	return r
}

func costToWire(r protocol.CostRequest) *CostRequest {
	return &CostRequest{Target: r.Target, Uri: r.URI, Account: r.Account, Pstn: r.PSTN, InterDomain: r.InterDomain, Interactive: r.Interactive, Confirmed: r.Confirmed, Allowlist: r.Allowlist,
		Region: r.Region, Prior: priorToWire(r.Prior)}
}

func costFromWire(w *CostRequest) protocol.CostRequest {
	return protocol.CostRequest{Target: w.GetTarget(), URI: w.GetUri(), Account: w.GetAccount(), PSTN: w.GetPstn(), InterDomain: w.GetInterDomain(), Interactive: w.GetInteractive(), Confirmed: w.GetConfirmed(), Allowlist: w.GetAllowlist(),
		Region: w.GetRegion(), Prior: priorFromWire(w.GetPrior())}
}

func bindingToWire(r protocol.BindingRequest) *BindingRequest {
	return &BindingRequest{Caller: r.Caller, Hint: r.Hint, Jid: r.JID, Verdict: r.Verdict, Prior: priorToWire(r.Prior)}
}

func bindingFromWire(w *BindingRequest) protocol.BindingRequest {
	return protocol.BindingRequest{Caller: w.GetCaller(), Hint: w.GetHint(), JID: w.GetJid(), Verdict: w.GetVerdict(), Prior: priorFromWire(w.GetPrior())}
}

func findingsToWire(in []protocol.ParityFinding) []*ParityFinding {
	out := make([]*ParityFinding, 0, len(in))
	for _, f := range in {
		out = append(out, &ParityFinding{Id: f.ID, Severity: f.Severity, Message: f.Message, Fix: f.Fix})
	}
	return out
}

func findingsFromWire(in []*ParityFinding) []protocol.ParityFinding {
	out := make([]protocol.ParityFinding, 0, len(in))
	for _, f := range in {
		out = append(out, protocol.ParityFinding{ID: f.GetId(), Severity: f.GetSeverity(), Message: f.GetMessage(), Fix: f.GetFix()})
	}
	return out
}

func parityToWire(r protocol.ParityRequest) *ParityRequest {
	return &ParityRequest{Account: r.Account, Chat: reportToWire(r.Chat), Telephony: reportToWire(r.Telephony), Findings: findingsToWire(r.Findings), Prior: priorToWire(r.Prior)}
}

func parityFromWire(w *ParityRequest) protocol.ParityRequest {
	return protocol.ParityRequest{Account: w.GetAccount(), Chat: reportFromWire(w.GetChat()), Telephony: reportFromWire(w.GetTelephony()), Findings: findingsFromWire(w.GetFindings()), Prior: priorFromWire(w.GetPrior())}
}

func durationNS(ns int64) time.Duration { return time.Duration(ns) }

func auditFindingsToWire(r protocol.AuditFindingsRequest) *AuditFindingsRequest {
	w := &AuditFindingsRequest{Account: r.Account, Profile: r.Profile, Findings: make([]*AuditFinding, 0, len(r.Findings)), Prior: priorToWire(r.Prior)}
	for _, f := range r.Findings {
		w.Findings = append(w.Findings, &AuditFinding{Id: f.ID, Aspect: f.Aspect, Endpoint: f.Endpoint, Severity: f.Severity,
			Status: f.Status, Evidence: f.Evidence, Ref: f.Ref})
	}
	return w
}

func auditFindingsFromWire(w *AuditFindingsRequest) protocol.AuditFindingsRequest {
	r := protocol.AuditFindingsRequest{Account: w.GetAccount(), Profile: w.GetProfile(), Findings: make([]protocol.AuditFinding, 0, len(w.GetFindings())), Prior: priorFromWire(w.GetPrior())}
	for _, f := range w.GetFindings() {
		r.Findings = append(r.Findings, protocol.AuditFinding{ID: f.GetId(), Aspect: f.GetAspect(), Endpoint: f.GetEndpoint(),
			Severity: f.GetSeverity(), Status: f.GetStatus(), Evidence: f.GetEvidence(), Ref: f.GetRef()})
	}
	return r
}

func auditDecisionToWire(d protocol.AuditFindingsDecision) *AuditFindingsDecision {
	w := &AuditFindingsDecision{Decision: decisionToWire(d.Decision)}
	for _, c := range d.Changes {
		w.Changes = append(w.Changes, &AuditSeverityChange{Id: c.ID, Aspect: c.Aspect, Endpoint: c.Endpoint, Severity: c.Severity, Reason: c.Reason})
	}
	return w
}

func auditDecisionFromWire(w *AuditFindingsDecision) protocol.AuditFindingsDecision {
	d := protocol.AuditFindingsDecision{Decision: decisionFromWire(w.GetDecision())}
	for _, c := range w.GetChanges() {
		d.Changes = append(d.Changes, protocol.AuditSeverityChange{ID: c.GetId(), Aspect: c.GetAspect(), Endpoint: c.GetEndpoint(),
			Severity: c.GetSeverity(), Reason: c.GetReason()})
	}
	return d
}

func activityToWire(a protocol.Activity) *Activity {
	return &Activity{General: a.General, Specific: a.Specific, Text: a.Text}
}

func activityFromWire(w *Activity) protocol.Activity {
	return protocol.Activity{General: w.GetGeneral(), Specific: w.GetSpecific(), Text: w.GetText()}
}

func snapshotToWire(s protocol.PresenceSnapshot) *PresenceSnapshot {
	w := &PresenceSnapshot{Online: s.Online}
	for _, p := range s.Presences {
		w.Presences = append(w.Presences, presenceToWire(p))
	}
	return w
}

func snapshotFromWire(w *PresenceSnapshot) protocol.PresenceSnapshot {
	s := protocol.PresenceSnapshot{Online: w.GetOnline(), Presences: []protocol.Presence{}}
	for _, p := range w.GetPresences() {
		s.Presences = append(s.Presences, presenceFromWire(p))
	}
	return s
}
