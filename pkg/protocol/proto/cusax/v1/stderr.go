package cusaxv1

import (
	"io"
	"os"
)

func stderr() io.Writer { return os.Stderr }
