package answer

import (
	"github.com/cusax/cusax/pkg/core/secrets"
)

func secretsRef(account, aspect string) secrets.Ref { return secrets.Ref{Account: account, Aspect: aspect} }
