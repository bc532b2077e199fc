#include <stdio.h>
#include "tiny.h"
int main(void)
{
	struct node *l = 0;
	for (int i = 0; i < 10; i++) l = push(l, (int)hash("tiny") + i);
	printf("%d\n", l->key);
	return 0;
}
