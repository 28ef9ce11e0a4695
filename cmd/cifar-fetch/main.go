package main
import (
 _ "github.com/apache/arrow/go/v17/arrow"
 _ "gorgonia.org/tensor"
 _ "github.com/alecthomas/kong"
 _ "golang.org/x/sys/cpu"
)
func main(){}
